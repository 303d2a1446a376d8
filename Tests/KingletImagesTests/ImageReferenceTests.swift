import Testing
@testable import KingletImages

@Suite struct ImageReferenceTests {
    func parsed(_ text: String) throws -> (String, String, String?, String?) {
        let reference = try ImageReference(parsing: text)
        return (reference.registry, reference.repository, reference.tag, reference.digest?.description)
    }

    let digest = "sha256:" + String(repeating: "ab", count: 32)

    @Test func dockerHubNamesAreNormalisedAsDockerAndTheKubeletDo() throws {
        #expect(try parsed("busybox") == ("docker.io", "library/busybox", "latest", nil))
        #expect(try parsed("eclipse-mosquitto:2") == ("docker.io", "library/eclipse-mosquitto", "2", nil))
        #expect(try parsed("acme/sensor:1.2") == ("docker.io", "acme/sensor", "1.2", nil))
        #expect(try parsed("docker.io/busybox") == ("docker.io", "library/busybox", "latest", nil))
        #expect(try parsed("index.docker.io/library/busybox:1.36") == ("docker.io", "library/busybox", "1.36", nil))
        #expect(try ImageReference(parsing: "busybox").description == "docker.io/library/busybox:latest")
        #expect(try ImageReference(parsing: "busybox").endpoint == "registry-1.docker.io")
    }

    @Test func aFirstComponentWithADotAPortOrLocalhostIsTheRegistry() throws {
        #expect(try parsed("registry.local/plc-bridge:1.4") == ("registry.local", "plc-bridge", "1.4", nil))
        #expect(try parsed("127.0.0.1:5000/kinglet/busybox") == ("127.0.0.1:5000", "kinglet/busybox", "latest", nil))
        #expect(try parsed("localhost/app") == ("localhost", "app", "latest", nil))
        #expect(try parsed("localhost:5000/a/b/c:v1") == ("localhost:5000", "a/b/c", "v1", nil))
        #expect(try parsed("[::1]:5000/app:1") == ("[::1]:5000", "app", "1", nil))
        // Without a dot, a port or localhost, the first component is a Docker Hub path.
        #expect(try parsed("library/busybox") == ("docker.io", "library/busybox", "latest", nil))
        // A single name with a colon is a tag, not a port.
        #expect(try parsed("localhost:5000") == ("docker.io", "library/localhost", "5000", nil))
    }

    @Test func aDigestPinsTheImageAndTheTagIsKeptWhenBothAreGiven() throws {
        #expect(try parsed("busybox@" + digest) == ("docker.io", "library/busybox", nil, digest))
        #expect(try parsed("ghcr.io/acme/app:2.0@" + digest) == ("ghcr.io", "acme/app", "2.0", digest))
        let pinned = try ImageReference(parsing: "ghcr.io/acme/app:2.0@" + digest)
        #expect(pinned.manifestReference == digest)
        #expect(try ImageReference(parsing: "busybox:1").manifestReference == "1")
    }

    @Test func pathComponentsFollowTheReferenceGrammar() throws {
        for good in ["a", "a.b", "a_b", "a__b", "a-b", "a---b", "a1/b2", "x/y.z_w__v-u"] {
            #expect((try? ImageReference(parsing: good)) != nil, "\(good)")
        }
        for bad in ["", ":tag", "a/", "/a", "a//b", "-a", "a-", "a.", "a___b", "a..b", "a/_b", "Busybox", "acme/Sensor"] {
            #expect(throws: ImageReferenceError.self, "\(bad)") { try ImageReference(parsing: bad) }
        }
    }

    @Test func invalidNamesSayWhatIsWrong() {
        func message(_ text: String) -> String {
            do { _ = try ImageReference(parsing: text); return "" } catch { return error.description }
        }
        #expect(message("acme/Sensor:1") == "couldn't parse image name \"acme/Sensor:1\": invalid reference format: the repository name \"acme/Sensor\" must be lowercase")
        #expect(message("busybox:-1").contains("the tag must be"))
        #expect(message("busybox:" + String(repeating: "t", count: 129)).contains("the tag must be"))
        #expect(message("busybox@sha256:abc").contains("is not a digest"))
        #expect(message("busybox@md5:" + String(repeating: "a", count: 32)).contains("digest algorithm md5 is not supported"))
        #expect(message("bad_host.example:99999/app").contains("is not a valid registry host"))
        #expect(message(String(repeating: "a", count: 256)).contains("longer than 255"))
    }

    @Test func digestsAreSha256WithSixtyFourLowerCaseHexDigits() throws {
        #expect(try ImageDigest(parsing: digest).hex == String(repeating: "ab", count: 32))
        #expect(throws: ImageDigestError.self) { try ImageDigest(parsing: "sha256:" + String(repeating: "AB", count: 32)) }
        #expect(throws: ImageDigestError.self) { try ImageDigest(parsing: "sha256:" + String(repeating: "a", count: 63)) }
        #expect(throws: ImageDigestError.self) { try ImageDigest(parsing: String(repeating: "a", count: 64)) }
        #expect(ImageDigest(sha256: [UInt8](repeating: 0xAB, count: 32)).description == digest)
    }
}
