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
    ],
    targets: [
        // C shims: the agent sees C only through these.
        .target(name: "CKingletSystem"),
        .systemLibrary(name: "CMosquitto", pkgConfig: "libmosquitto", providers: [.apt(["libmosquitto-dev"])]),
        .systemLibrary(name: "CModbus", pkgConfig: "libmodbus", providers: [.apt(["libmodbus-dev"])]),
        .systemLibrary(name: "CBluetooth", pkgConfig: "bluez", providers: [.apt(["libbluetooth-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),

        // The agent, in the Embedded Swift subset (cross/build lists the same targets).
        .target(name: "KingletCore"),
        .target(name: "KingletEpoll", dependencies: ["KingletCore", "CKingletSystem"]),
        .target(name: "KingletDocument", dependencies: ["CYAML", "CKingletSystem"]),
        .target(name: "KingletPod", dependencies: ["KingletDocument", "KingletCore"],
                linkerSettings: [.linkedLibrary("m")]),
        .target(name: "KingletConfig", dependencies: ["KingletDocument", "KingletPod", "CKingletSystem"]),
        .target(name: "KingletNode", dependencies: ["CKingletSystem"]),
        .target(name: "KingletStatusSocket", dependencies: ["KingletCore", "CKingletSystem"]),
        .target(name: "KingletCache", dependencies: ["CKingletSystem"]),
        .target(name: "KingletRuntime", dependencies: ["KingletCore", "CKingletSystem"]),
        .target(name: "KingletProbes", dependencies: ["KingletCore", "CKingletSystem"]),
        .target(name: "KingletPodManager", dependencies: [
            "KingletCore", "KingletPod", "KingletRuntime", "KingletProbes", "CKingletSystem",
        ]),
        .target(name: "KingletAgent", dependencies: [
            "KingletCore", "KingletEpoll", "KingletDocument", "KingletPod", "KingletConfig", "KingletNode",
            "KingletCache", "KingletRuntime", "KingletProbes", "KingletPodManager", "KingletStatusSocket",
            "CKingletSystem", "CMosquitto", "CModbus", "CBluetooth", "CYAML", "COpenSSL",
        ]),
        // Entry.swift declares its entry point (@main on the host, the C main in Embedded
        // mode), so it is compiled as a library file in both modes.
        .executableTarget(name: "kinglet", dependencies: ["KingletAgent", "CKingletSystem"],
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),

        // Test support, host only.
        .target(name: "KingletLoopTesting", dependencies: ["KingletCore"]),

        // Commits cache records until killed, for the crash-injection tests (host only).
        .executableTarget(name: "cache-torture-writer", dependencies: ["KingletCache"], path: "Tests/CacheTortureWriter"),

        // Times cache commits for `make bench` (host only).
        .executableTarget(name: "cache-bench", dependencies: ["KingletCache"], path: "bench/CacheBench"),

        // Full Swift programs.
        .executableTarget(name: "kinglet-relay", dependencies: [
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "kinglet-sim", dependencies: [
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "KingletCoreTests", dependencies: ["KingletCore"]),
        .testTarget(name: "KingletLoopTestingTests", dependencies: ["KingletLoopTesting", "KingletCore"]),
        .testTarget(name: "KingletEpollTests", dependencies: ["KingletEpoll", "KingletCore", "CKingletSystem"]),
        .testTarget(name: "KingletAgentTests", dependencies: ["KingletAgent"]),
        .testTarget(name: "KingletDocumentTests", dependencies: ["KingletDocument"]),
        .testTarget(name: "KingletPodTests", dependencies: ["KingletPod", "KingletDocument"]),
        .testTarget(name: "KingletConfigTests", dependencies: ["KingletConfig", "KingletDocument"]),
        .testTarget(name: "KingletNodeTests", dependencies: ["KingletNode"]),
        .testTarget(name: "KingletPodManagerTests", dependencies: [
            "KingletPodManager", "KingletPod", "KingletRuntime", "KingletProbes", "KingletCore", "KingletEpoll",
            "KingletLoopTesting", "KingletDocument",
        ]),
        .testTarget(name: "KingletStatusSocketTests", dependencies: ["KingletStatusSocket", "KingletEpoll", "KingletCore"]),
        .testTarget(name: "KingletCacheTests", dependencies: ["KingletCache", "CKingletSystem", "cache-torture-writer"]),
        .testTarget(name: "KingletProbesTests", dependencies: ["KingletProbes", "KingletCore", "KingletEpoll", "KingletLoopTesting", "CKingletSystem"]),
        .testTarget(name: "KingletRuntimeTests", dependencies: [
            "KingletRuntime", "KingletCore", "KingletEpoll", "KingletLoopTesting", "CKingletSystem",
        ]),
        .testTarget(name: "IntegrationTests", dependencies: ["kinglet"]),
    ]
)
