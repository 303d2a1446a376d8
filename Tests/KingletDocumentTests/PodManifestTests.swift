import KingletDocument
import Testing

/// A static pod written in YAML and the same pod as the cloud sends it in JSON must give
/// the same tree: the model decoder cannot tell where a pod came from.
@Suite struct PodManifestTests {
    static let podYAML = """
    # /etc/kinglet/pods/sensor.yaml
    apiVersion: v1
    kind: Pod
    metadata:
      name: sensor-reader
      namespace: edge
      labels:
        app: sensor
        tier: "1"
      annotations:
        kinglet.io/restart: "on"
    spec:
      restartPolicy: Always
      hostNetwork: true
      terminationGracePeriodSeconds: 30
      containers:
        - name: reader
          image: registry.local/sensor:1.4.2
          command: ["/bin/reader", "--port", "502"]
          args:
            - --verbose
            - --interval=0.5
          env:
            - name: MODE
              value: "yes"
            - name: RATIO
              value: "0.75"
            - name: SCRIPT
              value: |
                echo start
                exec reader
          ports:
            - containerPort: 502
              protocol: TCP
          resources:
            limits: {cpu: 250m, memory: 64Mi}
          securityContext:
            readOnlyRootFilesystem: true
            runAsUser: 1000
          livenessProbe:
            tcpSocket: {port: 502}
            initialDelaySeconds: 5
            periodSeconds: 10.5
          volumeMounts:
            - {name: data, mountPath: /data, readOnly: false}
      volumes:
        - name: data
          hostPath: {path: /var/lib/sensor, type: DirectoryOrCreate}
        - name: scratch
          emptyDir: {}
      nodeSelector: ~
    """

    static let podJSON = """
    {
      "apiVersion": "v1",
      "kind": "Pod",
      "metadata": {
        "name": "sensor-reader",
        "namespace": "edge",
        "labels": {"app": "sensor", "tier": "1"},
        "annotations": {"kinglet.io/restart": "on"}
      },
      "spec": {
        "restartPolicy": "Always",
        "hostNetwork": true,
        "terminationGracePeriodSeconds": 30,
        "containers": [
          {
            "name": "reader",
            "image": "registry.local/sensor:1.4.2",
            "command": ["/bin/reader", "--port", "502"],
            "args": ["--verbose", "--interval=0.5"],
            "env": [
              {"name": "MODE", "value": "yes"},
              {"name": "RATIO", "value": "0.75"},
              {"name": "SCRIPT", "value": "echo start\\nexec reader\\n"}
            ],
            "ports": [{"containerPort": 502, "protocol": "TCP"}],
            "resources": {"limits": {"cpu": "250m", "memory": "64Mi"}},
            "securityContext": {"readOnlyRootFilesystem": true, "runAsUser": 1000},
            "livenessProbe": {
              "tcpSocket": {"port": 502},
              "initialDelaySeconds": 5,
              "periodSeconds": 10.5
            },
            "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": false}]
          }
        ],
        "volumes": [
          {"name": "data", "hostPath": {"path": "/var/lib/sensor", "type": "DirectoryOrCreate"}},
          {"name": "scratch", "emptyDir": {}}
        ],
        "nodeSelector": null
      }
    }
    """

    @Test func yamlAndJSONManifestsGiveTheSameTree() throws {
        let fromYAML = try YAMLReader().parseDocument(Self.podYAML, file: "sensor.yaml")
        let fromJSON = try JSONReader().parseDocument(Self.podJSON, file: "sensor.json")
        #expect(fromYAML.hasSameContent(as: fromJSON))
        #expect(fromYAML != fromJSON) // positions differ, which == sees
    }

    @Test func theJSONManifestReadsTheSameThroughTheYAMLReader() throws {
        // JSON is (almost all) YAML: static pod folders may hold either, and both readers agree.
        let viaYAML = try YAMLReader().parseDocument(Self.podJSON, file: "sensor.json")
        let viaJSON = try JSONReader().parseDocument(Self.podJSON, file: "sensor.json")
        #expect(viaYAML.hasSameContent(as: viaJSON))
    }

    @Test func positionsPointIntoEachSource() throws {
        let fromYAML = try YAMLReader().parseDocument(Self.podYAML, file: "sensor.yaml")
        let image = fromYAML.objectMember("spec")?.node.objectMember("containers").flatMap { member -> Member? in
            guard case .array(let containers) = member.node.value else { return nil }
            return containers.first?.objectMember("image")
        }
        #expect(image?.keyPosition == at(18, 7))
        #expect(image?.node.position == at(18, 14))
    }

    @Test func writingTheTreeAndReadingItBackKeepsIt() throws {
        let fromYAML = try YAMLReader().parseDocument(Self.podYAML, file: "sensor.yaml")
        var writer = JSONWriter()
        writer.write(fromYAML)
        let again = try JSONReader().parseDocument(writer.bytes)
        #expect(again.hasSameContent(as: fromYAML))
    }

    @Test func valuesThatLookLikeOtherKindsMustBeQuotedInYAML() throws {
        // The classic manifest mistake, resolved as Kubernetes resolves it: the decoder
        // then rejects a boolean where it wants a string, naming the line.
        let pod = try YAMLReader().parseDocument("env:\n  - name: MODE\n    value: yes\n")
        let value = pod.objectMember("env").flatMap { member -> Node? in
            guard case .array(let items) = member.node.value else { return nil }
            return items.first?.objectMember("value")?.node
        }
        #expect(value?.value == .bool(true))
        #expect(value?.position == at(3, 12))
        #expect(value?.value.kindDescription == "a boolean")
    }

    @Test func severalPodsInOneFileReadInOrder() throws {
        let documents = try YAMLReader().parseDocuments(Self.podYAML + "\n---\n" + Self.podYAML, file: "two.yaml")
        #expect(documents.count == 2)
        #expect(documents[0].hasSameContent(as: documents[1]))
        #expect(documents[1].position.line == documents[0].position.line + Self.podYAML.split(separator: "\n", omittingEmptySubsequences: false).count + 1)
    }
}
