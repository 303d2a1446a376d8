import KingletPod
import KingletPodManager
import KingletRuntime
import Testing

@Suite struct LaunchPlannerTests {
    private let context = LaunchContext(nodeName: "board-1", hostIP: "10.0.0.5", appsFolder: "/var/lib/kinglet/apps",
                                        logsFolder: "/var/log/kinglet/pods")
    private func pod(_ container: Container) -> Pod {
        Pod(metadata: ObjectMeta(name: "web", namespace: "edge", uid: "u1", labels: [("app", "web")]),
            spec: PodSpec(containers: [container]))
    }

    @Test func absoluteImageIsTheExecutableAndArgsExpandVariables() throws {
        let container = Container(name: "c", image: "/bin/sh", args: ["-c", "echo $(GREETING) $$(KEEP)"],
                                  env: [EnvVar(name: "GREETING", source: .value("hi $(NODE)")),
                                        EnvVar(name: "NODE", source: .field(path: "spec.nodeName"))])
        let launch = try LaunchPlanner.plan(pod: pod(container), container: container, context: context)
        #expect(launch.executable == "/bin/sh")
        #expect(launch.arguments == ["-c", "echo hi $(NODE) $(KEEP)"])
        #expect(launch.environment == [EnvironmentVariable(name: "GREETING", value: "hi $(NODE)"),
                                       EnvironmentVariable(name: "NODE", value: "board-1")])
        #expect(launch.workingDirectory == nil)
        #expect(launch.logPath == "/var/log/kinglet/pods/edge_web_u1/c.log")
    }

    @Test func imageNameResolvesToItsAppFolderAndEntrypoint() throws {
        let container = Container(name: "c", image: "registry.example.com:5000/acme/sensor:1.2")
        let launch = try LaunchPlanner.plan(pod: pod(container), container: container, context: context)
        #expect(launch.executable == "/var/lib/kinglet/apps/acme/sensor/1.2/entrypoint")
        #expect(launch.workingDirectory == "/var/lib/kinglet/apps/acme/sensor/1.2")
        let untagged = Container(name: "c", image: "sensor")
        #expect(try LaunchPlanner.plan(pod: pod(untagged), container: untagged, context: context).executable
            == "/var/lib/kinglet/apps/sensor/latest/entrypoint")
    }

    @Test func commandReplacesTheEntrypointAndBareNamesFallBackToPath() throws {
        let container = Container(name: "c", image: "sensor:2", command: ["python3", "-u"], args: ["main.py"], workingDir: "/srv")
        let launch = try LaunchPlanner.plan(pod: pod(container), container: container, context: context)
        #expect(launch.executable == "python3")
        #expect(launch.arguments == ["-u", "main.py"])
        #expect(launch.workingDirectory == "/srv")
    }

    @Test func downwardAPIFieldsAndLimitsReachTheLaunch() throws {
        var container = Container(name: "c", image: "/bin/true",
                                  env: [EnvVar(name: "NS", source: .field(path: "metadata.namespace")),
                                        EnvVar(name: "IP", source: .field(path: "status.podIP")),
                                        EnvVar(name: "APP", source: .field(path: "metadata.labels['app']"))])
        container.resources = ResourceRequirements(cpuLimitMillicores: 250, memoryLimitBytes: 1 << 20)
        let launch = try LaunchPlanner.plan(pod: pod(container), container: container, context: context)
        #expect(launch.environment.map(\.value) == ["edge", "10.0.0.5", "web"])
        #expect(launch.resourceLimits == ResourceLimits(memoryBytes: 1 << 20, cpuMillicores: 250))
    }

    @Test func optionalMissingReferencesAreSkippedAndUnknownFieldsRejected() throws {
        let optional = Container(name: "c", image: "/bin/true",
                                 env: [EnvVar(name: "X", source: .configMapKey(name: "cfg", key: "x", optional: true))])
        #expect(try LaunchPlanner.plan(pod: pod(optional), container: optional, context: context).environment.isEmpty)
        let unknown = Container(name: "c", image: "/bin/true", env: [EnvVar(name: "X", source: .field(path: "spec.serviceAccountName"))])
        #expect(throws: LaunchError.self) { try LaunchPlanner.plan(pod: pod(unknown), container: unknown, context: context) }
    }
}

@Suite struct EnvironmentOrderTests {
    @Test func aNameGivenTwiceKeepsItsLastValue() throws {
        let context = LaunchContext(nodeName: "n", appsFolder: "/apps", logsFolder: "/logs")
        let container = Container(name: "c", image: "/bin/true",
                                  env: [EnvVar(name: "A", source: .value("first")), EnvVar(name: "B", source: .value("$(A)")),
                                        EnvVar(name: "A", source: .value("second"))])
        let pod = Pod(metadata: ObjectMeta(name: "p", uid: "u"), spec: PodSpec(containers: [container]))
        let launch = try LaunchPlanner.plan(pod: pod, container: container, context: context)
        #expect(launch.environment == [EnvironmentVariable(name: "A", value: "second"), EnvironmentVariable(name: "B", value: "first")])
    }
}
