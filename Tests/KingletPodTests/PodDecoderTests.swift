import KingletDocument
import KingletPod
import Testing

@Suite struct PodDecoderTests {
    private func pod(_ yaml: String) throws -> Pod {
        try PodDecoder.decode(try YAMLReader().parseDocument(yaml, file: "web.yaml"), file: "web.yaml")
    }

    private func problem(_ yaml: String) -> String? {
        do {
            _ = try pod(yaml)
            return nil
        } catch let error as DocumentError {
            return error.description
        } catch {
            return "unexpected \(error)"
        }
    }

    private let full = """
    apiVersion: v1
    kind: Pod
    metadata:
      name: web
      namespace: edge
      labels: {app: web}
    spec:
      restartPolicy: OnFailure
      terminationGracePeriodSeconds: 5
      initContainers:
      - name: setup
        image: /bin/sh
        command: ["/bin/sh", "-c", "echo ready > /tmp/x"]
      containers:
      - name: server
        image: busybox:1.36
        args: ["httpd", "-f", "-p", "$(PORT)"]
        workingDir: /srv
        env:
        - {name: PORT, value: "8080"}
        - name: POD
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: TOKEN
          valueFrom: {secretKeyRef: {name: creds, key: token, optional: true}}
        ports: [{containerPort: 8080, name: http}]
        resources:
          limits: {cpu: 500m, memory: 64Mi}
          requests: {cpu: 0.1}
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 2
        livenessProbe:
          tcpSocket: {port: 8080}
          failureThreshold: 5
    """

    @Test func kubernetesManifestDecodesEveryFieldTheAgentUses() throws {
        let pod = try pod(full)
        #expect(pod.fullName == "edge/web")
        #expect(pod.metadata.labels.first! == ("app", "web"))
        #expect(pod.spec.restartPolicy == .onFailure)
        #expect(pod.spec.terminationGracePeriodSeconds == 5)
        #expect(pod.spec.initContainers.map(\.name) == ["setup"])
        let server = pod.spec.containers[0]
        #expect(server.args == ["httpd", "-f", "-p", "$(PORT)"])
        #expect(server.env == [
            EnvVar(name: "PORT", source: .value("8080")),
            EnvVar(name: "POD", source: .field(path: "metadata.name")),
            EnvVar(name: "TOKEN", source: .secretKey(name: "creds", key: "token", optional: true)),
        ])
        #expect(server.resources == ResourceRequirements(cpuLimitMillicores: 500, memoryLimitBytes: 67_108_864, cpuRequestMillicores: 100))
        #expect(server.readinessProbe == Probe(action: .httpGet(scheme: "HTTP", host: "", port: .string("http"), path: "/healthz", headers: []),
                                              periodSeconds: 2))
        #expect(server.livenessProbe?.action == .tcpSocket(host: "", port: .int(8080)))
        #expect(server.livenessProbe?.failureThreshold == 5)
    }

    @Test func sameManifestAsJSONDecodesToTheSamePod() throws {
        let json = """
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"edge","labels":{"app":"web"}},
         "spec":{"restartPolicy":"OnFailure","terminationGracePeriodSeconds":5,
          "initContainers":[{"name":"setup","image":"/bin/sh","command":["/bin/sh","-c","echo ready > /tmp/x"]}],
          "containers":[{"name":"server","image":"busybox:1.36","args":["httpd","-f","-p","$(PORT)"],"workingDir":"/srv",
            "env":[{"name":"PORT","value":"8080"},{"name":"POD","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}},
                   {"name":"TOKEN","valueFrom":{"secretKeyRef":{"name":"creds","key":"token","optional":true}}}],
            "ports":[{"containerPort":8080,"name":"http"}],
            "resources":{"limits":{"cpu":"500m","memory":"64Mi"},"requests":{"cpu":"0.1"}},
            "readinessProbe":{"httpGet":{"path":"/healthz","port":"http"},"periodSeconds":2},
            "livenessProbe":{"tcpSocket":{"port":8080},"failureThreshold":5}}]}}
        """
        let fromJSON = try PodDecoder.decode(try JSONReader().parseDocument(json, file: "web.json"), file: "web.json")
        #expect(fromJSON == (try pod(full)))
    }

    @Test func defaultsFollowKubernetes() throws {
        let pod = try pod("metadata: {name: a}\nspec:\n  containers: [{name: c, image: /bin/true}]\n")
        #expect(pod.metadata.namespace == "default")
        #expect(pod.spec.restartPolicy == .always)
        #expect(pod.spec.terminationGracePeriodSeconds == 30)
    }

    @Test func errorsNameFileLineColumnAndField() {
        #expect(problem("metadata: {name: a}\nspec:\n  containers: [{name: c}]\n")
            == "web.yaml:3:16: spec.containers[0].image: required field is missing")
        #expect(problem("metadata: {name: a}\nspec:\n  restartPolicy: Sometimes\n  containers: [{name: c, image: x}]\n")
            == "web.yaml:3:18: spec.restartPolicy: unsupported restartPolicy 'Sometimes' (expected Always, OnFailure or Never)")
        #expect(problem("metadata: {name: Web_1}\nspec:\n  containers: [{name: c, image: x}]\n")
            == "web.yaml:1:18: metadata.name: 'Web_1' is not a valid name: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit")
        #expect(problem("metadata: {name: a}\nspec:\n  containers:\n  - {name: c, image: x}\n  - {name: c, image: y}\n")
            == "web.yaml:5:12: spec.containers[1].name: duplicate container name 'c'")
        #expect(problem("metadata: {name: a}\nspec:\n  containers:\n  - name: c\n    image: x\n    resources: {limits: {memory: 64MB}}\n")
            == "web.yaml:6:34: spec.containers[0].resources.limits.memory: unknown suffix in '64MB' (expected one of Ki Mi Gi Ti Pi Ei n u m k M G T P E, or e<exponent>)")
        #expect(problem("metadata: {name: a}\nspec:\n  containers: []\n") == "web.yaml:3:15: spec.containers: must have at least one container")
        #expect(problem("kind: Service\nmetadata: {name: a}\nspec: {}\n") == "web.yaml:1:7: kind: expected kind Pod, found 'Service'")
        #expect(problem("metadata: {name: a}\nspec:\n  containers: [{name: c, image: x, livenessProbe: {periodSeconds: 3}}]\n")
            == "web.yaml:3:51: spec.containers[0].livenessProbe: a probe needs one of exec, tcpSocket or httpGet")
        #expect(problem("metadata: {name: a}\nspec:\n  containers: [{name: c, image: x, ports: [{containerPort: 70000}]}]\n")
            == "web.yaml:3:60: spec.containers[0].ports[0].containerPort: port 70000 is outside 1-65535")
    }

    @Test func statusIsWrittenInTheAPIShape() throws {
        var status = PodStatus(phase: .running, startTime: 1_795_564_741_000_000_000)
        status.conditions = [PodCondition(type: "Ready", isTrue: false, lastTransitionTime: 1_795_564_741_000_000_000,
                                          reason: "ContainersNotReady", message: "containers with unready status: [web]")]
        status.containerStatuses = [
            ContainerStatus(name: "web", image: "busybox", containerID: "exec://42",
                            state: .waiting(reason: "CrashLoopBackOff", message: "back-off 10s restarting failed container"),
                            lastState: .terminated(exitCode: 1, signal: 0, reason: "Error", message: "",
                                                   startedAt: 1_795_564_741_000_000_000, finishedAt: 1_795_564_742_000_000_000),
                            restartCount: 3),
        ]
        var writer = JSONWriter()
        PodStatusJSON.write(status, to: &writer)
        let parsed = try JSONReader().parseDocument(writer.bytes)
        let expected = try JSONReader().parseDocument("""
        {"phase":"Running","conditions":[{"type":"Ready","status":"False","lastProbeTime":null,
          "lastTransitionTime":"2026-11-24T23:59:01Z","reason":"ContainersNotReady","message":"containers with unready status: [web]"}],
         "startTime":"2026-11-24T23:59:01Z",
         "containerStatuses":[{"name":"web","image":"busybox","imageID":"","containerID":"exec://42",
           "state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off 10s restarting failed container"}},
           "lastState":{"terminated":{"exitCode":1,"reason":"Error","startedAt":"2026-11-24T23:59:01Z","finishedAt":"2026-11-24T23:59:02Z"}},
           "ready":false,"started":false,"restartCount":3}]}
        """)
        #expect(parsed.hasSameContent(as: expected))
    }
}
