import Foundation
import KingletTestPeers
import Testing

/// imagePullSecrets end to end: a registry that wants a password (Debian's docker-registry,
/// HTTP Basic), a Secret created with kubectl, and a board with runc and no credentials file
/// of its own, so the only way to the image is the pod's secret, relayed over MQTT.
@Suite(.serialized) struct CloudPullSecretTests {
    static let skipReason: Comment =
        "needs root, runc, docker-registry, htpasswd, umoci, skopeo, busybox-static, kubectl, etcd and mosquitto (make test installs them)"
    static var canRun: Bool {
        OCIPodTests.canRun && ["/usr/bin/kubectl", "/usr/bin/etcd", "/usr/sbin/mosquitto"].allSatisfy {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    @Test(.enabled(if: canRun, skipReason), arguments: OCIPodTests.agents)
    func aPodPullsWithItsSecretFailsWithoutItAndKeepsItThroughAnOfflineRestart(binary: String) throws {
        let user = RegistryCredentials(username: "puller", password: "pod-secret-password")
        let registry = try RegistryPeer.start(label: "pull-secret", auth: .basic(user))
        defer { registry.stop() }
        let images = try TestImages(label: "pull-secret")
        defer { images.remove() }
        let pushed = try images.push(try images.busybox(tag: "1", command: ["sh"]), to: registry, repository: "kinglet/private", tag: "1")

        let stack = try CloudStack(label: "pull-secret")
        defer { stack.stop() }
        let board = try stack.board(node: "edge-1", extraConfig: """
            runtime: {oci: \(OCIPodTests.runc!), containersOutliveAgent: false}
            images: {credentialsFile: no-such-registries.json}
            """)
        defer { board.remove() }
        #expect(!FileManager.default.fileExists(atPath: board.folder + "/no-such-registries.json"))
        let status = AgentStatusClient(socket: board.socket)
        func check(_ condition: Bool, _ what: @autoclosure () -> String) throws {
            if !condition { throw PeerError("\(what())\n\(stack.logs)\n--- registry\n\(registry.log.suffix(3000))") }
        }
        var agent = try PeerProcess(name: "kinglet", executable: binary, arguments: ["run", "--config", board.configPath],
                                    logPath: board.folder + "/agent-1.log")
        defer { agent.stop() }
        try check(Loopback.eventually(within: 30) { stack.nodeReady("edge-1") == "True" ? true : nil } != nil,
                  "edge-1 never became Ready\n--- agent\n\(agent.tail)")

        // The pod names a pull secret that does not exist yet: it is sent without it, and
        // the registry's 401 leaves it waiting for its image.
        let manifest = board.folder + "/private.yaml"
        try """
            apiVersion: v1
            kind: Pod
            metadata: {name: private}
            spec:
              nodeName: edge-1
              terminationGracePeriodSeconds: 2
              imagePullSecrets: [{name: regcred}]
              containers:
              - name: main
                image: \(pushed.reference)
                imagePullPolicy: Always
                command: ["sh", "-c", "echo pulled with its pull secret; exec sleep 1000"]
            """.write(toFile: manifest, atomically: true, encoding: .utf8)
        let created = try stack.kubectl(["create", "-f", manifest])
        try check(created.status == 0, "kubectl create: \(created.output)")
        let refused = Loopback.eventually(within: 60) { () -> String? in
            let waiting = (PodJSON.container(stack.pod("private"), "main")["state"] as? [String: Any])?["waiting"] as? [String: Any]
            let reason = waiting?["reason"] as? String ?? ""
            return ["ErrImagePull", "ImagePullBackOff"].contains(reason) ? reason : nil
        }
        try check(refused != nil, "no ErrImagePull/ImagePullBackOff without the secret: \(String(describing: stack.pod("private")))\n--- agent\n\(agent.tail)")
        try check(agent.output.contains("pull access denied for \(registry.host)/kinglet/private, repository does not exist or may require authorization: no credentials for \(registry.host)"),
                  "the agent does not give the registry's 401 as the reason\n--- agent\n\(agent.tail)")
        try check(registry.log.contains("401") || registry.log.contains("authentication"), "the registry never refused a request")
        let events = try stack.kubectl(["get", "events", "--field-selector", "reason=FailedToRetrieveImagePullSecret", "-o", "json"])
        try check(events.output.contains("Unable to retrieve some image pull secrets (regcred); attempting to pull the image may not succeed."),
                  "no FailedToRetrieveImagePullSecret event: \(events.output)")

        // The Secret is created: the relay sends the pod again with its credentials, and it runs.
        // (kubectl writes the Secret, then creates it from the file: its typed `create secret`
        // sends protobuf, which the test API server does not read.)
        let secret = try stack.kubectl(["create", "secret", "docker-registry", "regcred", "--docker-server=\(registry.host)",
                                        "--docker-username=\(user.username)", "--docker-password=\(user.password)",
                                        "--dry-run=client", "-o", "json"])
        try check(secret.status == 0 && secret.output.contains("kubernetes.io/dockerconfigjson"), "kubectl create secret: \(secret.output)")
        let secretFile = board.folder + "/regcred.json"
        try secret.output.write(toFile: secretFile, atomically: true, encoding: .utf8)
        let createdSecret = try stack.kubectl(["create", "-f", secretFile])
        try check(createdSecret.status == 0, "kubectl create -f regcred.json: \(createdSecret.output)")
        let running = Loopback.eventually(within: 90) { () -> [String: Any]? in
            guard let pod = stack.pod("private"), PodJSON.phase(pod) == "Running", PodJSON.stateName(pod, "main") == "running" else { return nil }
            return pod
        }
        try check(running != nil, "pod never Running with its secret: \(String(describing: stack.pod("private")))\n--- agent\n\(agent.tail)")
        let logs = Loopback.eventually(within: 10) { () -> String? in
            let result = try? PeerProcess.run(binary, ["logs", "private", "-c", "main", "--config", board.configPath], within: 10)
            return result.flatMap { $0.output.contains("pulled with its pull secret") ? $0.output : nil }
        }
        try check(logs != nil, "the container did not run from the image\n--- agent\n\(agent.tail)")
        try check(PodJSON.restarts(stack.pod("private"), "main") == 0, "the container restarted: \(String(describing: stack.pod("private")))")
        let uid = ((running?["metadata"] as? [String: Any])?["uid"] as? String) ?? ""
        let credentialsFile = board.stateFolder + "/pods/\(uid)/pull-credentials.json"
        let attributes = try FileManager.default.attributesOfItem(atPath: credentialsFile)
        try check((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600, "\(credentialsFile) is not 0600: \(attributes)")
        try check(!agent.output.contains(user.password), "the password reached the agent's log")

        // The agent restarts while the broker is down: the pod comes back from the cache and,
        // with imagePullPolicy Always, is pulled again with the secret kept on the board.
        stack.broker.kill9()
        agent.stop()
        agent = try PeerProcess(name: "kinglet", executable: binary, arguments: ["run", "--config", board.configPath],
                                logPath: board.folder + "/agent-2.log")
        let restored = status.waitFor(within: 60) { PodJSON.ready($0["private"], "main") }
        // (It counts one restart: the agent's stop ended the container, containersOutliveAgent being off.)
        try check(PodJSON.ready(restored?["private"], "main"),
                  "pod not running after an offline restart: \(String(describing: restored?["private"]))\n--- agent\n\(agent.tail)")
        try check(agent.output.contains("pulled image \"\(pushed.reference)\""), "no second pull after the restart\n--- agent\n\(agent.tail)")

        // Back online and deleted: the pod's folder, credentials included, goes with it.
        try stack.broker.restart()
        let deleted = try stack.kubectl(["delete", "pod", "private", "--timeout=60s"], within: 70)
        try check(deleted.status == 0, "kubectl delete: \(deleted.output)\n--- agent\n\(agent.tail)")
        try check(status.waitFor(within: 20) { $0["private"] == nil } != nil, "pod still on the board")
        try check(!FileManager.default.fileExists(atPath: board.stateFolder + "/pods/\(uid)"), "the pod's folder outlived it")
    }
}
