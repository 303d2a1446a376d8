import Foundation
import KingletKube
import KingletRelay
import Testing

@Suite struct DesiredPodBuilderTests {
    static let configMap: JSONValue = [
        "metadata": ["name": "settings", "namespace": "default"],
        "data": ["GREETING": "hello from a ConfigMap", "app.conf": "listen 8080\n"],
    ]
    static let secret: JSONValue = [
        "metadata": ["name": "creds", "namespace": "default"],
        "data": ["password": .string(Data("s3cret".utf8).base64EncodedString())],
    ]
    static let sources = ConfigSources(
        configMap: { namespace, name in namespace == "default" && name == "settings" ? configMap : nil },
        secret: { namespace, name in namespace == "default" && name == "creds" ? secret : nil })

    static func pod(env: [JSONValue] = [], envFrom: [JSONValue] = [], volumes: [JSONValue] = [],
                    labels: JSONValue = ["app": "web"], tolerations: [JSONValue] = []) -> JSONValue {
        [
            "apiVersion": "v1", "kind": "Pod",
            "metadata": ["name": "web", "namespace": "default", "uid": "uid-1", "labels": labels, "resourceVersion": "12"],
            "spec": [
                "nodeName": "edge-1", "restartPolicy": "Always", "tolerations": .array(tolerations),
                "containers": [["name": "web", "image": "/usr/bin/busybox", "env": .array(env), "envFrom": .array(envFrom)]],
                "volumes": .array(volumes),
            ],
        ]
    }

    func message(_ result: Result<DesiredPod, ConfigProblem>) throws -> JSONValue {
        try JSONValue.parse(try result.get().payload)
    }

    @Test func configMapAndSecretReferencesBecomeLiteralValues() throws {
        let pod = Self.pod(env: [
            ["name": "GREETING", "valueFrom": ["configMapKeyRef": ["name": "settings", "key": "GREETING"]]],
            ["name": "PASSWORD", "valueFrom": ["secretKeyRef": ["name": "creds", "key": "password"]]],
            ["name": "POD_NAME", "valueFrom": ["fieldRef": ["fieldPath": "metadata.name"]]],
        ])
        let message = try message(DesiredPodBuilder.build(pod: pod, sources: Self.sources))
        let env = message[path: "pod", "spec", "containers"]?.arrayValue?.first?["env"]?.arrayValue ?? []
        #expect(env[0] == ["name": "GREETING", "value": "hello from a ConfigMap"])
        #expect(env[1] == ["name": "PASSWORD", "value": "s3cret"])
        #expect(env[2][path: "valueFrom", "fieldRef", "fieldPath"]?.stringValue == "metadata.name")
        #expect(message["v"] == 1)
        #expect(message["uid"] == "uid-1")
        #expect(message[path: "pod", "metadata", "labels", "app"] == "web")
    }

    @Test func envFromComesBeforeTheContainersOwnEnv() throws {
        let pod = Self.pod(env: [["name": "CFG_GREETING", "value": "mine"]],
                           envFrom: [["configMapRef": ["name": "settings"], "prefix": "CFG_"]])
        let message = try message(DesiredPodBuilder.build(pod: pod, sources: Self.sources))
        let container = message[path: "pod", "spec", "containers"]?.arrayValue?.first
        let names = container?["env"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
        #expect(names == ["CFG_GREETING", "CFG_app.conf", "CFG_GREETING"])
        #expect(container?["envFrom"] == nil)
    }

    @Test func volumesTravelAsBase64Files() throws {
        let pod = Self.pod(volumes: [
            ["name": "config", "configMap": ["name": "settings", "items": [["key": "app.conf", "path": "conf/app.conf"]]]],
            ["name": "creds", "secret": ["secretName": "creds"]],
            ["name": "scratch", "emptyDir": [:]],
        ])
        let message = try message(DesiredPodBuilder.build(pod: pod, sources: Self.sources))
        #expect(message[path: "files", "config", "conf/app.conf"]?.stringValue == Data("listen 8080\n".utf8).base64EncodedString())
        #expect(message[path: "files", "creds", "password"]?.stringValue == Data("s3cret".utf8).base64EncodedString())
        #expect(message[path: "files", "scratch"] == nil)
        #expect(message[path: "pod", "spec", "volumes"]?.arrayValue?.count == 3)
    }

    @Test func missingReferencesGiveTheKubeletsMessages() {
        let noMap = Self.pod(env: [["name": "X", "valueFrom": ["configMapKeyRef": ["name": "absent", "key": "k"]]]])
        #expect(DesiredPodBuilder.build(pod: noMap, sources: Self.sources) == .failure(ConfigProblem(message: "configmap \"absent\" not found")))
        let noKey = Self.pod(env: [["name": "X", "valueFrom": ["secretKeyRef": ["name": "creds", "key": "user"]]]])
        #expect(DesiredPodBuilder.build(pod: noKey, sources: Self.sources)
                == .failure(ConfigProblem(message: "couldn't find key user in Secret default/creds")))
        let noVolume = Self.pod(volumes: [["name": "v", "secret": ["secretName": "absent"]]])
        #expect(DesiredPodBuilder.build(pod: noVolume, sources: Self.sources) == .failure(ConfigProblem(message: "secret \"absent\" not found")))
    }

    @Test func optionalMissingReferencesAreSkipped() throws {
        let pod = Self.pod(env: [["name": "X", "valueFrom": ["configMapKeyRef": ["name": "absent", "key": "k", "optional": true]]],
                                 ["name": "Y", "value": "y"]],
                           envFrom: [["secretRef": ["name": "absent", "optional": true]]])
        let message = try message(DesiredPodBuilder.build(pod: pod, sources: Self.sources))
        #expect(message[path: "pod", "spec", "containers"]?.arrayValue?.first?["env"] == [["name": "Y", "value": "y"]])
    }

    @Test func specHashIsFNV1aOfSpecAndFilesAndIgnoresLabelsAndTolerations() throws {
        let base = try DesiredPodBuilder.build(pod: Self.pod(), sources: Self.sources).get()
        let relabelled = try DesiredPodBuilder.build(pod: Self.pod(labels: ["app": "other"]), sources: Self.sources).get()
        let tolerating = try DesiredPodBuilder.build(
            pod: Self.pod(tolerations: [["key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"]]),
            sources: Self.sources).get()
        #expect(base.specHash == relabelled.specHash)
        #expect(base.payload != relabelled.payload)
        #expect(base.specHash == tolerating.specHash)
        #expect(base.specHash.count == 16)
        let message = try JSONValue.parse(base.payload)
        let hashed: JSONValue = ["pod": ["spec": message[path: "pod", "spec"]!], "files": message["files"]!]
        #expect(FNV1a64.hex(FNV1a64.hash(hashed.compactBytes)) == base.specHash)
        let changed = try DesiredPodBuilder.build(pod: Self.pod(env: [["name": "A", "value": "b"]]), sources: Self.sources).get()
        #expect(changed.specHash != base.specHash)
        // The same pod gives the same bytes (what "publish only differences" relies on).
        #expect(try DesiredPodBuilder.build(pod: Self.pod(), sources: Self.sources).get() == base)
    }

    @Test func fnv1a64MatchesPublishedVectors() {
        #expect(FNV1a64.hex(FNV1a64.hash(Array("".utf8))) == "cbf29ce484222325")
        #expect(FNV1a64.hex(FNV1a64.hash(Array("a".utf8))) == "af63dc4c8601ec8c")
        #expect(FNV1a64.hex(FNV1a64.hash(Array("foobar".utf8))) == "85944171f73967e8")
    }

    @Test func indexListsPodsAndDeletingWithGracePeriods() throws {
        let payload = DesiredIndex.payload(pods: ["a": "0123456789abcdef"], deleting: ["b": 30])
        #expect(String(decoding: payload, as: UTF8.self) == #"{"deleting":{"b":30},"pods":{"a":"0123456789abcdef"},"v":1}"#)
        #expect(DesiredIndex.pods(in: payload) == ["a": "0123456789abcdef"])
    }

    @Test func referencesNameEveryConfigMapAndSecret() {
        let pod = Self.pod(env: [["name": "X", "valueFrom": ["secretKeyRef": ["name": "s1", "key": "k"]]]],
                           envFrom: [["configMapRef": ["name": "c1"]]],
                           volumes: [["name": "v", "configMap": ["name": "c2"]], ["name": "w", "secret": ["secretName": "s2"]]])
        let references = DesiredPodBuilder.references(of: pod)
        #expect(references.configMaps == ["c1", "c2"])
        #expect(references.secrets == ["s1", "s2"])
    }
}
