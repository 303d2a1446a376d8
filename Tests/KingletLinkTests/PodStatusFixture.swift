import KingletPod

enum PodStatusFixture {
    static var running: PodStatus {
        PodStatus(phase: .running, containerStatuses: [
            ContainerStatus(name: "web", image: "/bin/sh", state: .running(startedAt: 1_000_000_000)),
        ])
    }
}
