import Foundation
import KingletKube
import KingletRelay
import Testing

/// A pod's imagePullSecrets become the desired message's `pullCredentials`.
@Suite struct PullSecretBuilderTests {
    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    /// A `kubernetes.io/dockerconfigjson` Secret as `kubectl create secret docker-registry` writes it.
    static func dockerConfigJSON(_ name: String, _ auths: JSONValue) -> JSONValue {
        let config: JSONValue = ["auths": auths]
        return ["metadata": ["name": .string(name), "namespace": "default"], "type": "kubernetes.io/dockerconfigjson",
                "data": [".dockerconfigjson": .string(base64(config.compactText))]]
    }

    /// A `kubernetes.io/dockercfg` Secret: the same entries, without `auths`.
    static func dockerCfg(_ name: String, _ entries: JSONValue) -> JSONValue {
        ["metadata": ["name": .string(name), "namespace": "default"], "type": "kubernetes.io/dockercfg",
         "data": [".dockercfg": .string(base64(entries.compactText))]]
    }

    static func sources(_ secrets: [JSONValue]) -> ConfigSources {
        ConfigSources(configMap: { _, _ in nil },
                      secret: { namespace, name in secrets.first { $0.namespace == namespace && $0.name == name } })
    }

    static func pod(pullSecrets: [String]) -> JSONValue {
        var pod = DesiredPodBuilderTests.pod()
        pod["spec"]?["imagePullSecrets"] = .array(pullSecrets.map { ["name": .string($0)] })
        return pod
    }

    func build(_ pullSecrets: [String], _ secrets: [JSONValue]) throws -> (DesiredPod, JSONValue) {
        let desired = try DesiredPodBuilder.build(pod: Self.pod(pullSecrets: pullSecrets), sources: Self.sources(secrets)).get()
        return (desired, try JSONValue.parse(desired.payload))
    }

    @Test func bothSecretTypesGiveCredentialsByRegistryTheFirstListedSecretWinning() throws {
        let first = Self.dockerConfigJSON("first", [
            "registry.local:5000": ["auth": .string(Self.base64("alice:wonder"))],
            "https://index.docker.io/v1/": ["username": "hub-user", "password": "hub-pass"],
        ])
        let second = Self.dockerCfg("second", [
            "https://registry.local:5000/v2/": ["auth": .string(Self.base64("bob:builder")), "email": "bob@example.com"],
            "ghcr.io": ["auth": .string(Self.base64("carol:s:ecret"))],
            "helper.example": ["identitytoken": "only-a-token"],
            "*.example.com": ["auth": .string(Self.base64("wild:card"))],
        ])
        let (desired, message) = try build(["first", "second"], [first, second])
        #expect(message["pullCredentials"] == [
            "registry.local:5000": ["auth": .string(Self.base64("alice:wonder"))],
            "docker.io": ["auth": .string(Self.base64("hub-user:hub-pass"))],
            "ghcr.io": ["auth": .string(Self.base64("carol:s:ecret"))],
        ])
        #expect(desired.warnings.isEmpty)
        // The names stay in the spec (no secret material there), and the hash covers the credentials.
        #expect(message[path: "pod", "spec", "imagePullSecrets"] == [["name": "first"], ["name": "second"]])
        let hashed: JSONValue = ["pod": ["spec": message[path: "pod", "spec"]!], "files": message["files"]!,
                                 "pullCredentials": message["pullCredentials"]!]
        #expect(FNV1a64.hex(FNV1a64.hash(hashed.compactBytes)) == desired.specHash)

        // Listed the other way round, the dockercfg Secret wins for the registry both name.
        let (_, reversed) = try build(["second", "first"], [first, second])
        #expect(reversed[path: "pullCredentials", "registry.local:5000", "auth"]?.stringValue == Self.base64("bob:builder"))
    }

    @Test func aMissingOrUnusablePullSecretLeavesThePodToBeSentWithoutItAndWarns() throws {
        let good = Self.dockerConfigJSON("good", ["registry.local:5000": ["auth": .string(Self.base64("u:p"))]])
        let opaque: JSONValue = ["metadata": ["name": "opaque", "namespace": "default"], "type": "Opaque", "data": ["x": "eA=="]]
        let notJSON: JSONValue = ["metadata": ["name": "garbled", "namespace": "default"], "type": "kubernetes.io/dockerconfigjson",
                                  "data": [".dockerconfigjson": .string(Self.base64("{not json"))]]
        let badAuth = Self.dockerCfg("bad-auth", ["registry.local:5000": ["auth": .string(Self.base64("no colon"))]])
        let (desired, message) = try build(["gone", "opaque", "good", "garbled", "bad-auth", "also-gone"],
                                           [good, opaque, notJSON, badAuth])
        #expect(message["pullCredentials"] == ["registry.local:5000": ["auth": .string(Self.base64("u:p"))]])
        #expect(desired.warnings.map(\.reason) == ["FailedToRetrieveImagePullSecret", "InvalidImagePullSecret",
                                                   "InvalidImagePullSecret", "InvalidImagePullSecret"])
        #expect(desired.warnings.allSatisfy { $0.type == "Warning" && $0.container == "" })
        let messages = desired.warnings.map(\.message)
        #expect(messages[0] == "Unable to retrieve some image pull secrets (gone, also-gone); attempting to pull the image may not succeed.")
        #expect(messages[1].contains("\"opaque\" cannot be used: its type is Opaque, not kubernetes.io/dockerconfigjson"), "\(messages[1])")
        #expect(messages[2].contains("\"garbled\" cannot be used: its .dockerconfigjson is not JSON"), "\(messages[2])")
        #expect(messages[3].contains("\"bad-auth\" cannot be used: the auth of registry.local:5000 in its .dockercfg is not base64 of user:password"),
                "\(messages[3])")
        #expect(!messages.joined().contains(Self.base64("u:p")), "no secret material in an Event")

        // Nothing usable at all: no field, and the hash of a pod without pull secrets.
        let (alone, aloneMessage) = try build(["gone"], [])
        #expect(aloneMessage["pullCredentials"] == nil)
        #expect(alone.warnings.count == 1)
        let plain = try DesiredPodBuilder.build(pod: DesiredPodBuilderTests.pod(), sources: Self.sources([])).get()
        let plainHashed: JSONValue = ["pod": ["spec": aloneMessage[path: "pod", "spec"]!], "files": [:]]
        #expect(alone.specHash == FNV1a64.hex(FNV1a64.hash(plainHashed.compactBytes)))
        #expect(plain.warnings.isEmpty)
    }

    @Test func aChangedPullSecretChangesTheSpecHash() throws {
        let before = Self.dockerConfigJSON("regcred", ["registry.local:5000": ["auth": .string(Self.base64("u:old"))]])
        let after = Self.dockerConfigJSON("regcred", ["registry.local:5000": ["auth": .string(Self.base64("u:new"))]])
        let (one, _) = try build(["regcred"], [before])
        let (again, _) = try build(["regcred"], [before])
        let (two, _) = try build(["regcred"], [after])
        let (none, _) = try build(["regcred"], [])
        #expect(one == again, "the same secret gives the same bytes")
        #expect(one.specHash != two.specHash)
        #expect(one.specHash != none.specHash)
    }

    @Test func referencesIncludeImagePullSecrets() {
        var pod = Self.pod(pullSecrets: ["regcred", "", "regcred", "other"])
        pod["spec"]?["volumes"] = [["name": "w", "secret": ["secretName": "s2"]]]
        #expect(DesiredPodBuilder.references(of: pod).secrets == ["regcred", "other", "s2"])
    }
}
