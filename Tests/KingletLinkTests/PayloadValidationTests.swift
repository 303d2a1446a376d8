import KingletCore
import KingletDocument
import KingletLink
import Testing

@Suite struct PayloadValidationTests {
    func podResult(_ text: String, uid: String = "u1") -> Result<DesiredPodMessage, PayloadRejection> {
        DesiredMessages.pod(Array(text.utf8), topicUID: uid)
    }

    func problem<T>(_ result: Result<T, PayloadRejection>) -> PayloadProblem? {
        if case .failure(let rejection) = result { return rejection.problem }
        return nil
    }

    @Test func desiredPodDecodesWithEnvFilesAndHash() throws {
        let text = Fixtures.podJSON(uid: "u1", hash: "9a3f01c2d4e5b6a7", env: "hello from a ConfigMap",
                                    files: #"{"config":{"app.conf":"bGlzdGVuIDgwODAK","sub/x":""}}"#)
        let message = try podResult(text).get()
        #expect(message.uid == "u1")
        #expect(message.specHash == 0x9a3f01c2d4e5b6a7)
        #expect(message.pod.metadata.uid == "u1")
        #expect(message.pod.spec.containers[0].env.first?.source == .value("hello from a ConfigMap"))
        #expect(message.files.count == 1)
        #expect(message.files[0].files[0].path == "app.conf")
        #expect(message.files[0].files[0].content == Array("listen 8080\n".utf8))
        #expect(message.files[0].files[1].content == [])
        // The cached spec is the pod object, which the agent's restore path decodes again.
        let again = try JSONReader().parseDocument(message.podJSON)
        #expect(again.objectMember("metadata")?.node.objectMember("name")?.node.value == .string("web"))
    }

    @Test func pullCredentialsDecodeAndBadOnesAreRejectedNamingTheField() throws {
        let good = #"{"registry.local:5000":{"auth":"dTpw"},"[::1]:5000":{"auth":"YTpiOmM="},"docker.io":{"auth":"dTo="}}"#
        let message = try podResult(Fixtures.podJSON(uid: "u1", pullCredentials: good)).get()
        #expect(message.pullCredentials == [PullCredential(registry: "registry.local:5000", auth: "dTpw"),
                                            PullCredential(registry: "[::1]:5000", auth: "YTpiOmM="),
                                            PullCredential(registry: "docker.io", auth: "dTo=")])
        #expect(try podResult(Fixtures.podJSON(uid: "u1")).get().pullCredentials.isEmpty)

        func rejection(_ credentials: String) -> PayloadRejection? {
            if case .failure(let rejection) = podResult(Fixtures.podJSON(uid: "u1", pullCredentials: credentials)) { return rejection }
            return nil
        }
        let cases: [(String, PayloadProblem, String)] = [
            (#"["registry.local"]"#, .invalid, "pullCredentials"),
            (#""dTpw""#, .invalid, "pullCredentials"),
            (#"{"registry.local":"dTpw"}"#, .invalid, "pullCredentials.registry.local"),
            (#"{"registry.local":{}}"#, .missingField, "pullCredentials.registry.local.auth"),
            (#"{"registry.local":{"auth":7}}"#, .invalid, "pullCredentials.registry.local.auth"),
            (#"{"registry.local":{"auth":""}}"#, .invalid, "pullCredentials.registry.local.auth"),
            (#"{"registry.local":{"auth":"not base64!"}}"#, .invalid, "pullCredentials.registry.local.auth is not base64 of user:password"),
            (#"{"registry.local":{"auth":"bm8gY29sb24="}}"#, .invalid, "pullCredentials.registry.local.auth is not base64 of user:password"),
            (#"{"https://registry.local/v2/":{"auth":"dTpw"}}"#, .invalid, "pullCredentials: registry"),
            (#"{"":{"auth":"dTpw"}}"#, .invalid, "pullCredentials: a registry must be"),
            (#"{"a b":{"auth":"dTpw"}}"#, .invalid, "pullCredentials: registry"),
            (#"{"r":{"auth":"dTpw"},"r":{"auth":"dTpw"}}"#, .notJSON, "duplicate key"),
        ]
        for (credentials, kind, naming) in cases {
            let rejected = rejection(credentials)
            #expect(rejected?.problem == kind, "\(credentials): \(String(describing: rejected))")
            #expect(rejected?.reason.contains(naming) == true, "\(credentials): \(String(describing: rejected))")
            // The password never reaches the log line.
            #expect(rejected?.reason.contains("dTpw") != true && rejected?.reason.contains("bm8gY29sb24=") != true)
        }
    }

    @Test func indexDecodesPodsAndDeleting() throws {
        let index = try DesiredMessages.index(Array(#"{"v":1,"pods":{"a":"00000000000000ff"},"deleting":{"b":30}}"#.utf8)).get()
        #expect(index == DesiredIndex(pods: ["a": 255], deleting: ["b": 30]))
        #expect(try DesiredMessages.index(Array(#"{"v":1,"pods":{}}"#.utf8)).get() == DesiredIndex())
    }

    @Test func hostilePayloadsAreRejectedWithTheirKind() {
        let big = "{\"v\":1,\"pad\":\"" + String(repeating: "x", count: 256 * 1024) + "\"}"
        #expect(problem(podResult(big)) == .tooLarge)
        #expect(problem(podResult("not json")) == .notJSON)
        #expect(problem(podResult("[1,2]")) == .notJSON)
        #expect(problem(podResult("")) == .notJSON)
        #expect(problem(podResult(#"{"v":2,"uid":"u1"}"#)) == .wrongVersion)
        #expect(problem(podResult(#"{"v":"1","uid":"u1"}"#)) == .wrongVersion)
        #expect(problem(podResult(#"{"uid":"u1"}"#)) == .missingField)
        #expect(problem(podResult(#"{"v":1,"specHash":"01"}"#)) == .missingField)
        #expect(problem(podResult(#"{"v":1,"uid":"u1","pod":{}}"#)) == .missingField)
        #expect(problem(podResult(#"{"v":1,"uid":"u1","specHash":"01"}"#)) == .missingField)
        #expect(problem(podResult(Fixtures.podJSON(uid: "u1", hash: "xyz"))) == .invalid)
        #expect(problem(podResult(Fixtures.podJSON(uid: "u1", hash: "00000000000000001"))) == .invalid)
        #expect(problem(podResult(Fixtures.podJSON(uid: "u2"))) == .invalid, "uid differs from the topic")
        #expect(problem(podResult(Fixtures.podJSON(uid: "static-x"), uid: "static-x")) == .invalid)
        #expect(problem(podResult(Fixtures.podJSON(uid: "u1", files: #"{"c":{"../etc/passwd":"eA=="}}"#))) == .invalid)
        #expect(problem(podResult(Fixtures.podJSON(uid: "u1", files: #"{"c":{"/abs":"eA=="}}"#))) == .invalid)
        #expect(problem(podResult(Fixtures.podJSON(uid: "u1", files: #"{"c":{"f":"not base64!"}}"#))) == .invalid)
        #expect(problem(podResult(Fixtures.podJSON(uid: "u1", files: #"{"Bad_Volume":{"f":"eA=="}}"#))) == .invalid)
        let noContainers = #"{"v":1,"uid":"u1","specHash":"01","pod":{"metadata":{"name":"w"},"spec":{"containers":[]}}}"#
        #expect(problem(podResult(noContainers)) == .invalid)
        let deep = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        #expect(problem(podResult(deep)) == .notJSON)

        #expect(problem(DesiredMessages.index(Array(#"{"v":1}"#.utf8))) == .missingField)
        #expect(problem(DesiredMessages.index(Array(#"{"v":1,"pods":{"a":12}}"#.utf8))) == .invalid)
        #expect(problem(DesiredMessages.index(Array(#"{"v":1,"pods":{"a/b":"01"}}"#.utf8))) == .invalid)
        #expect(problem(DesiredMessages.index(Array(#"{"v":1,"pods":{},"deleting":{"a":-1}}"#.utf8))) == .invalid)
        #expect(problem(DesiredMessages.index(Array(#"{"v":0,"pods":{}}"#.utf8))) == .wrongVersion)
    }

    @Test func dotUIDsThatWouldNameTheStateFolderAreRejected() {
        // <state>/pods/<uid> is removed with the pod: ".." would remove the whole state folder.
        for uid in [".", "..", ".hidden"] {
            #expect(DesiredMessages.uidProblem(uid) != nil, "\(uid)")
            #expect(problem(podResult(Fixtures.podJSON(uid: uid), uid: uid)) == .invalid, "\(uid)")
            #expect(problem(DesiredMessages.index(Array(#"{"v":1,"pods":{"\#(uid)":"01"}}"#.utf8))) == .invalid, "\(uid)")
        }
        #expect(DesiredMessages.uidProblem("6f1c2a9e-0b7d.x_1") == nil)
    }

    @Test func rejectionsAreCountedAndLoggedOncePerTopicAndKind() {
        var rejections = PayloadRejections()
        let notJSON = PayloadRejection(.notJSON, "x")
        let first = rejections.record(notJSON, topic: "t/a")
        let again = rejections.record(notJSON, topic: "t/a")
        let otherTopic = rejections.record(notJSON, topic: "t/b")
        let otherKind = rejections.record(PayloadRejection(.wrongVersion, "y"), topic: "t/a")
        #expect(first && !again && otherTopic && otherKind)
        #expect(rejections.counts[.notJSON] == 3)
        #expect(rejections.counts[.wrongVersion] == 1)
        #expect(rejections.total == 4)
    }

    /// Seeded mutations of valid payloads (bytes flipped, dropped, duplicated, cut): each
    /// one decodes or is rejected with a kind, never a crash, and a decoded one is whole.
    @Test func fuzzedPayloadsNeverCrashTheReader() {
        var generator = SeededGenerator(seed: 2026)
        let seeds = [
            Array(Fixtures.podJSON(uid: "u1", files: #"{"config":{"app.conf":"bGlzdGVuIDgwODAK"}}"#,
                                   pullCredentials: #"{"registry.local:5000":{"auth":"dTpw"}}"#).utf8),
            Array(#"{"v":1,"pods":{"u1":"00000000000000aa","u2":"0b"},"deleting":{"u3":30}}"#.utf8),
        ]
        var outcomes: [String: Int] = [:]
        for round in 0..<4000 {
            var bytes = seeds[round % 2]
            let edits = 1 + Int(generator.next() % 6)
            for _ in 0..<edits where !bytes.isEmpty {
                let at = Int(generator.next() % UInt64(bytes.count))
                switch generator.next() % 5 {
                case 0: bytes[at] = UInt8(truncatingIfNeeded: generator.next())
                case 1: bytes.remove(at: at)
                case 2: bytes.insert(bytes[at], at: at)
                case 3: bytes.removeSubrange(at...)
                default: bytes[at] = [UInt8(ascii: "{"), UInt8(ascii: "\""), UInt8(ascii: "}"), UInt8(ascii: ","), 0xFF][Int(generator.next() % 5)]
                }
            }
            if round % 2 == 0 {
                switch DesiredMessages.pod(bytes, topicUID: "u1") {
                case .success(let message):
                    outcomes["pod ok", default: 0] += 1
                    #expect(message.uid == "u1" && !message.pod.spec.containers.isEmpty)
                case .failure(let rejection): outcomes[rejection.problem.rawValue, default: 0] += 1
                }
            } else {
                switch DesiredMessages.index(bytes) {
                case .success: outcomes["index ok", default: 0] += 1
                case .failure(let rejection): outcomes[rejection.problem.rawValue, default: 0] += 1
                }
            }
        }
        #expect(outcomes.values.reduce(0, +) == 4000)
        #expect((outcomes["notJSON"] ?? 0) > 0 && (outcomes["invalid"] ?? 0) + (outcomes["missingField"] ?? 0) > 0)
    }

    @Test func base64DecodingIsStrictAndEncodingRoundTrips() {
        #expect(Base64.decode("aGk=") == Array("hi".utf8))
        #expect(Base64.decode("aGk") == nil)
        #expect(Base64.decode("a=Gk") == nil)
        for text in ["", "h", "hi", "hi!", "user:pässword"] {
            #expect(Base64.decode(Base64.encode(Array(text.utf8))) == Array(text.utf8))
        }
        #expect(Base64.encode(Array("hi".utf8)) == "aGk=")
    }
}
