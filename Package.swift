// swift-tools-version:6.0
// The host build: the agent in full Swift, the relay, the simulators and every test.
// The agent's static Embedded Swift builds come from the same sources via cross/build.
import PackageDescription

let package = Package(
    name: "Kinglet",
    products: [
        .executable(name: "kinglet", targets: ["kinglet"]),
        .executable(name: "kinglet-relay", targets: ["kinglet-relay"]),
        .executable(name: "kinglet-sim", targets: ["kinglet-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.24.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.30.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.10.0"),
    ],
    targets: [
        // C shims: the agent sees C only through these.
        .target(name: "CKingletSystem"),
        .systemLibrary(name: "CMosquitto", pkgConfig: "libmosquitto", providers: [.apt(["libmosquitto-dev"])]),
        .systemLibrary(name: "CModbus", pkgConfig: "libmodbus", providers: [.apt(["libmodbus-dev"])]),
        .systemLibrary(name: "CBluetooth", pkgConfig: "bluez", providers: [.apt(["libbluetooth-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // The agent, in the Embedded Swift subset (cross/build lists the same targets).
        .target(name: "KingletCore", dependencies: ["CKingletSystem"]),
        .target(name: "KingletEpoll", dependencies: ["KingletCore", "CKingletSystem"]),
        .target(name: "KingletDocument", dependencies: ["CYAML", "CKingletSystem"]),
        .target(name: "KingletPod", dependencies: ["KingletDocument", "KingletCore"],
                linkerSettings: [.linkedLibrary("m")]),
        .target(name: "KingletConfig", dependencies: ["KingletCore", "KingletDocument", "KingletPod", "KingletDevices", "CKingletSystem"]),
        .target(name: "KingletNode", dependencies: ["KingletCore", "CKingletSystem"]),
        .target(name: "KingletStatusSocket", dependencies: ["KingletCore", "CKingletSystem"]),
        .target(name: "KingletCache", dependencies: ["KingletCore", "CKingletSystem"]),
        .target(name: "KingletRuntime", dependencies: ["KingletCore", "KingletDocument", "CKingletSystem"]),
        .target(name: "KingletProbes", dependencies: ["KingletCore", "CKingletSystem"]),
        .target(name: "KingletPodManager", dependencies: [
            "KingletCore", "KingletPod", "KingletRuntime", "KingletProbes", "CKingletSystem",
        ]),
        // The cloud link: libmosquitto on the agent's loop, the topic contract of docs/protocol.md.
        .target(name: "KingletLink", dependencies: [
            "KingletCore", "KingletDocument", "KingletPod", "KingletDevices", "CMosquitto", "CKingletSystem",
        ]),
        // Devices: the KubeEdge Device model and twins, and one target per bus.
        .target(name: "KingletDevices", dependencies: ["KingletCore", "KingletDocument", "KingletPod", "CKingletSystem"]),
        .target(name: "KingletModbus", dependencies: ["KingletDevices", "KingletCore", "KingletDocument", "KingletPod",
                                                     "CModbus", "CKingletSystem"]),
        .target(name: "KingletZigbee", dependencies: ["KingletCore", "KingletDevices", "KingletDocument", "KingletPod"]),
        // The board's local MQTT broker: MQTT-native devices and KubeEdge's $hw device topics.
        .target(name: "KingletLocalBus", dependencies: ["KingletDevices", "KingletLink", "KingletCore", "KingletDocument"]),
        .target(name: "KingletBLE", dependencies: ["KingletCore", "KingletDevices", "KingletDocument", "KingletPod", "COpenSSL", "CKingletSystem"]),
        // Container images: an HTTP client on the loop, and the registry pull and image store.
        .target(name: "KingletHTTP", dependencies: ["KingletCore", "COpenSSL", "CKingletSystem"]),
        .target(name: "KingletImages", dependencies: ["KingletCore", "KingletDocument", "KingletPod", "KingletHTTP", "COpenSSL", "CZlib", "CKingletSystem"]),
        .target(name: "KingletAgent", dependencies: [
            "KingletCore", "KingletEpoll", "KingletDocument", "KingletPod", "KingletConfig", "KingletNode",
            "KingletCache", "KingletRuntime", "KingletProbes", "KingletPodManager", "KingletStatusSocket", "KingletLink",
            "KingletDevices", "KingletModbus", "KingletZigbee", "KingletBLE", "KingletLocalBus", "KingletHTTP", "KingletImages",
            "CKingletSystem", "CMosquitto", "CModbus", "CBluetooth", "CYAML", "COpenSSL", "CZlib",
        ]),
        // Entry.swift declares its entry point (@main on the host, the C main in Embedded
        // mode), so it is compiled as a library file in both modes.
        .executableTarget(name: "kinglet", dependencies: ["KingletAgent", "CKingletSystem"],
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),

        // Test support, host only.
        .target(name: "KingletLoopTesting", dependencies: ["KingletCore"]),

        // Commits cache records until killed, for the crash-injection tests (host only).
        .executableTarget(name: "cache-torture-writer", dependencies: ["KingletCache", "KingletLoopTesting"], path: "Tests/CacheTortureWriter"),

        // Times cache commits for `make bench` (host only).
        .executableTarget(name: "cache-bench", dependencies: ["KingletCache"], path: "bench/CacheBench"),

        // Full Swift: the relay's Kubernetes client, the relay, and its program.
        .target(name: "KingletKube", dependencies: [
            "KingletDocument",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "KingletRelay", dependencies: [
            "KingletKube", "CMosquitto",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "kinglet-relay", dependencies: [
            "KingletRelay", "KingletKube",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The device simulators: byte-level state machines written from the public specs
        // (not from the agent's code), served on pseudo-terminals by kinglet-sim.
        .target(name: "CKingletSimSystem"),
        .target(name: "KingletSimZigbee", dependencies: ["CKingletSimSystem"]),
        .target(name: "KingletSimModbus", dependencies: [
            "CModbus", "CKingletSimSystem", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .target(name: "KingletSimBLE", dependencies: ["CKingletSimSystem", "COpenSSL"]),
        .executableTarget(name: "kinglet-sim", dependencies: [
            "KingletSimZigbee", "KingletSimModbus", "KingletSimBLE",
            "KingletLink", "KingletEpoll", "KingletCore", "KingletDocument", "KingletPod", "KingletConfig", "CKingletSystem",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Test support, not product: the etcd-backed stand-in for kube-apiserver, and the
        // launchers of the real peers (etcd, mosquitto, our binaries).
        .target(name: "KingletTestAPI", dependencies: [
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "kinglet-testapi", dependencies: [
            "KingletTestAPI",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "KingletTestPeers"),

        .testTarget(name: "KingletDevicesTests", dependencies: ["KingletDevices", "KingletConfig", "KingletDocument", "KingletCore",
                                                                "KingletLoopTesting"]),
        .testTarget(name: "KingletModbusTests", dependencies: ["KingletModbus", "KingletDevices", "KingletConfig", "KingletDocument",
                                                               "KingletCore", "KingletEpoll", "CModbus", "CKingletSystem", "CKingletSimSystem"]),
        .testTarget(name: "KingletLocalBusTests", dependencies: ["KingletLocalBus", "KingletDevices", "KingletLink", "KingletDocument",
                                                                 "KingletCore", "KingletEpoll", "KingletTestPeers"]),
        .testTarget(name: "KingletZigbeeTests", dependencies: ["KingletZigbee", "KingletCore", "KingletConfig", "KingletDevices", "KingletDocument"]),
        .testTarget(name: "KingletBLETests", dependencies: ["KingletBLE", "KingletCore", "KingletDevices", "KingletDocument",
                                                            "KingletPod", "KingletEpoll", "CKingletSystem"]),
        .testTarget(name: "KingletSimZigbeeTests", dependencies: ["KingletSimZigbee", "kinglet-sim"]),
        .testTarget(name: "KingletSimBLETests", dependencies: ["KingletSimBLE", "kinglet-sim"]),
        .testTarget(name: "KingletSimModbusTests", dependencies: ["KingletSimModbus", "CModbus", "kinglet-sim"]),
        .testTarget(name: "KingletCoreTests", dependencies: ["KingletCore", "KingletLoopTesting"]),
        .testTarget(name: "KingletHTTPTests", dependencies: [
            "KingletHTTP", "KingletCore", "KingletEpoll", "KingletTestPeers",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
        ]),
        .testTarget(name: "KingletImagesTests", dependencies: [
            "KingletImages", "KingletHTTP", "KingletCore", "KingletEpoll", "KingletDocument", "KingletTestPeers",
        ]),
        .testTarget(name: "KingletLoopTestingTests", dependencies: ["KingletLoopTesting", "KingletCore"]),
        .testTarget(name: "KingletEpollTests", dependencies: ["KingletEpoll", "KingletCore", "CKingletSystem"]),
        .testTarget(name: "KingletAgentTests", dependencies: ["KingletAgent", "KingletLocalBus", "KingletDocument"]),
        .testTarget(name: "KingletDocumentTests", dependencies: ["KingletDocument", "KingletLoopTesting"]),
        .testTarget(name: "KingletPodTests", dependencies: ["KingletPod", "KingletDocument"]),
        .testTarget(name: "KingletConfigTests", dependencies: ["KingletConfig", "KingletDocument"]),
        .testTarget(name: "KingletNodeTests", dependencies: ["KingletNode"]),
        .testTarget(name: "KingletPodManagerTests", dependencies: [
            "KingletPodManager", "KingletPod", "KingletRuntime", "KingletProbes", "KingletCore", "KingletEpoll",
            "KingletLoopTesting", "KingletDocument",
        ]),
        .testTarget(name: "KingletStatusSocketTests", dependencies: ["KingletStatusSocket", "KingletEpoll", "KingletCore"]),
        .testTarget(name: "KingletCacheTests", dependencies: ["KingletCache", "CKingletSystem", "cache-torture-writer", "KingletLoopTesting", "KingletCore", "KingletEpoll"]),
        .testTarget(name: "KingletProbesTests", dependencies: ["KingletProbes", "KingletCore", "KingletEpoll", "KingletLoopTesting", "CKingletSystem"]),
        .testTarget(name: "KingletRuntimeTests", dependencies: [
            "KingletRuntime", "KingletCore", "KingletEpoll", "KingletLoopTesting", "CKingletSystem",
        ]),
        .testTarget(name: "KingletLinkTests", dependencies: [
            "KingletLink", "KingletCore", "KingletEpoll", "KingletLoopTesting", "KingletDocument", "KingletPod", "KingletTestPeers",
        ]),
        .testTarget(name: "KingletKubeTests", dependencies: ["KingletKube", "KingletTestPeers", "kinglet-testapi"]),
        .testTarget(name: "KingletRelayTests", dependencies: [
            "KingletRelay", "KingletKube", "KingletTestPeers", "kinglet-relay", "kinglet-testapi",
        ]),
        .testTarget(name: "KingletTestPeersTests", dependencies: ["KingletTestPeers"]),
        .testTarget(name: "KingletTestAPITests", dependencies: ["KingletTestAPI", "KingletTestPeers", "kinglet-testapi"]),
        .testTarget(name: "IntegrationTests", dependencies: [
            "kinglet", "kinglet-relay", "kinglet-testapi", "kinglet-sim", "KingletTestPeers",
        ]),
    ]
)
