// The kinglet agent executable: hands argv to KingletAgent and exits with its status.
import CKingletSystem
import KingletAgent

#if hasFeature(Embedded)
// Embedded Swift has no CommandLine: the C entry point is ours.
@_cdecl("main")
func kingletMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    var arguments: [String] = []
    for index in 0..<Int(argc) {
        if let argument = argv[index] { arguments.append(String(cString: argument)) }
    }
    return AgentMain.main(arguments)
}
#else
// SwiftPM renames the entry point of executables it builds (so tests can link them):
// @main is the form it expects.
@main
struct KingletExecutable {
    static func main() {
        exit(AgentMain.main(CommandLine.arguments))
    }
}
#endif
