import Foundation
import KingletConfig
import KingletDocument
import KingletPod
import Testing

@Suite struct ConfigTests {
    private func config(_ yaml: String, file: String = "/etc/kinglet/kinglet.yaml") throws -> AgentConfig {
        try ConfigDecoder.decode(try YAMLReader().parseDocument(yaml, file: file), file: file, defaultNodeName: "host-1")
    }

    private func problem(_ yaml: String) -> String? {
        do { _ = try config(yaml); return nil } catch let error as DocumentError { return error.description } catch { return "\(error)" }
    }

    @Test func emptyFileMeansEveryDefault() throws {
        #expect(try config("") == AgentConfig(nodeName: "host-1"))
    }

    @Test func relativePathsResolveAgainstTheConfigFolder() throws {
        let config = try config("node: {name: board-7}\npaths:\n  cacheFile: state/cache.kc\n  staticPods: /srv/pods\n",
                                file: "boards/sim/kinglet.yaml")
        #expect(config.nodeName == "board-7")
        #expect(config.paths.cacheFile == "boards/sim/state/cache.kc")
        #expect(config.paths.staticPods == "/srv/pods")
        #expect(config.paths.socket == "/run/kinglet/kinglet.sock")
    }

    @Test func sizesAcceptQuantities() throws {
        #expect(try config("runtime: {logMaxBytes: 1Mi, logMaxFiles: 2}").runtime.logMaxBytes == 1_048_576)
    }

    @Test func theImagesSectionSetsRegistriesCredentialsPlatformAndGarbageCollection() throws {
        let images = try config("""
            paths: {images: state/images}
            images:
              insecureRegistries: ["registry.local:5000"]
              credentialsFile: registries.json
              platform: linux/arm/v6
              gcHighThresholdPercent: 90
              gcLowThresholdPercent: 70
            """, file: "boards/sim/kinglet.yaml")
        #expect(images.paths.images == "boards/sim/state/images")
        #expect(images.images.insecureRegistries == ["registry.local:5000"])
        #expect(images.images.credentialsFile == "boards/sim/registries.json")
        #expect(images.images.platform == "linux/arm/v6")
        #expect(images.images.gcHighThresholdPercent == 90 && images.images.gcLowThresholdPercent == 70)
        let defaults = try config("")
        #expect(defaults.paths.images == "/var/lib/kinglet/images")
        #expect(defaults.images.gcHighThresholdPercent == 85 && defaults.images.gcLowThresholdPercent == 80)
        #expect(problem("images: {platform: arm}") == "/etc/kinglet/kinglet.yaml:1:20: images.platform: expected os/architecture[/variant], e.g. linux/arm/v7")
        #expect(problem("images: {gcHighThresholdPercent: 101}") == "/etc/kinglet/kinglet.yaml:1:34: images.gcHighThresholdPercent: must be between 1 and 100")
        #expect(problem("images: {gcHighThresholdPercent: 70, gcLowThresholdPercent: 75}")
            == "/etc/kinglet/kinglet.yaml:1:9: images.gcLowThresholdPercent: must be below gcHighThresholdPercent (70)")
    }

    @Test func mistakesNameFileLineAndColumn() {
        #expect(problem("paths:\n  cacheFlie: x\n")
            == "/etc/kinglet/kinglet.yaml:2:3: paths.cacheFlie: unknown field 'cacheFlie' (expected one of: cacheFile, staticPods, logs, apps, socket, images)")
        #expect(problem("node: {name: Bad_Name}") == "/etc/kinglet/kinglet.yaml:1:14: node.name: 'Bad_Name' is not a valid name: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit")
        #expect(problem("runtime: {logMaxFiles: 0}") == "/etc/kinglet/kinglet.yaml:1:24: runtime.logMaxFiles: must be between 1 and 100")
        #expect(problem("runtime: {logMaxFiles: 1000000000}") == "/etc/kinglet/kinglet.yaml:1:24: runtime.logMaxFiles: must be between 1 and 100")
        #expect(problem("cloud: {caFile: a}") == "/etc/kinglet/kinglet.yaml:1:8: cloud.broker: required field is missing")
        #expect(problem("- a\n- b\n") == "/etc/kinglet/kinglet.yaml:1:1: expected an object, found a list")
    }
}

@Suite struct StaticPodFolderTests {
    private func folder(_ files: [String: String]) throws -> String {
        let path = NSTemporaryDirectory() + "kinglet-static-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(toFile: path + "/" + name, atomically: true, encoding: .utf8) }
        return path
    }

    @Test func yamlJsonAndMultiDocumentManifestsLoadAsStaticPods() throws {
        let path = try folder([
            "a.yaml": "metadata: {name: web}\nspec: {containers: [{name: c, image: /bin/sh}]}\n---\nmetadata: {name: db, namespace: data}\nspec: {containers: [{name: c, image: /bin/sh}]}\n",
            "b.json": #"{"metadata":{"name":"api"},"spec":{"containers":[{"name":"c","image":"/bin/sh"}]}}"#,
            "notes.txt": "not a manifest",
        ])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let pods = try StaticPodFolder.load(path, nodeName: "board-1")
        #expect(pods.map(\.pod.fullName) == ["default/web-board-1", "data/db-board-1", "default/api-board-1"])
        #expect(pods.allSatisfy { $0.pod.metadata.uid.hasPrefix("static-") && $0.pod.spec.nodeName == "board-1" })
        #expect(Set(pods.map(\.pod.metadata.uid)).count == 3)
    }

    @Test func editedManifestKeepsItsUidButChangesItsHash() throws {
        let path = try folder(["a.yaml": "metadata: {name: web}\nspec: {containers: [{name: c, image: /bin/sh}]}\n"])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let before = try StaticPodFolder.load(path, nodeName: "n")[0]
        try "metadata: {name: web}\nspec: {containers: [{name: c, image: /bin/bash}]}\n".write(toFile: path + "/a.yaml", atomically: true, encoding: .utf8)
        let after = try StaticPodFolder.load(path, nodeName: "n")[0]
        #expect(before.pod.metadata.uid == after.pod.metadata.uid)
        #expect(before.specHash != after.specHash)
        #expect(try StaticPodFolder.load(path, nodeName: "n")[0].specHash == after.specHash)
    }

    @Test func oneBadManifestFailsTheWholeLoadWithItsPosition() throws {
        let path = try folder([
            "good.yaml": "metadata: {name: web}\nspec: {containers: [{name: c, image: /bin/sh}]}\n",
            "bad.yaml": "metadata: {name: api}\nspec:\n  containers:\n  - name: c\n    image: [oops]\n",
        ])
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: DocumentError(file: path + "/bad.yaml", position: SourcePosition(line: 5, column: 12),
                                      path: "spec.containers[0].image", message: "expected a string, found a list")) {
            try StaticPodFolder.load(path, nodeName: "n")
        }
    }

    @Test func samePodInTwoFilesIsRejected() throws {
        let manifest = "metadata: {name: web}\nspec: {containers: [{name: c, image: /bin/sh}]}\n"
        let path = try folder(["a.yaml": manifest, "b.yaml": manifest])
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try StaticPodFolder.load(path, nodeName: "n")
            Issue.record("expected a duplicate error")
        } catch {
            #expect(error.message == "pod default/web-n is also defined in \(path)/a.yaml")
        }
    }

    @Test func missingFolderMeansNoStaticPods() throws {
        #expect(try StaticPodFolder.load("/nonexistent/kinglet-manifests", nodeName: "n").isEmpty)
    }
}
