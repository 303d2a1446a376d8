// The kinglet agent executable: hands argv to KingletAgent and exits with its status.
import KingletAgent

#if hasFeature(Embedded)
// Embedded Swift has no CommandLine; the cross build compiles this file with
// -parse-as-library, so the C entry point is ours.
@_cdecl("main")
func kingletMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    var arguments: [String] = []
    for index in 0..<Int(argc) {
        if let argument = argv[index] { arguments.append(String(cString: argument)) }
    }
    return AgentMain.main(arguments)
}
#else
import CKingletSystem
exit(AgentMain.main(CommandLine.arguments))
#endif
