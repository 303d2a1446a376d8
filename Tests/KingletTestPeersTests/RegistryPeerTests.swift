import Foundation
import KingletTestPeers
import Testing

/// The registry peers checked with independent clients (curl and skopeo), in each mode.
@Suite(.enabled(if: RegistryPeer.isInstalled && TestImages.isInstalled && Curl.isInstalled,
                "needs Debian's docker-registry, apache2-utils, umoci, skopeo, busybox-static and curl (cross/setup installs them)"))
struct RegistryPeerTests {
    static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    static let ociIndex = "application/vnd.oci.image.index.v1+json"
    static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    static let dockerList = "application/vnd.docker.distribution.manifest.list.v2+json"
    static let accept = [ociManifest, ociIndex, dockerManifest, dockerList]

    @Test func plainRegistryLetsAnyonePullThePushedBusyboxImage() throws {
        let registry = try RegistryPeer.start(label: "plain")
        defer { registry.stop() }
        let images = try TestImages(label: "plain")
        defer { images.remove() }
        let image = try images.busybox(tag: "busybox", command: ["sh", "-c", "echo hello"])
        let pushed = try images.push(image, to: registry, repository: "kinglet/busybox", tag: "1")
        #expect(pushed.reference == "\(registry.host)/kinglet/busybox:1")
        #expect(pushed.digest == image.digest, "an OCI push keeps the layout's manifest byte for byte")
        #expect(pushed.mediaType == Self.ociManifest)
        #expect(pushed.layers.count == 1 && pushed.layerBytes > 500_000, "\(pushed.layers)")

        // skopeo, anonymously: the config says what the image was built with.
        let inspected = try Skopeo.json(["inspect", "--no-creds", "--tls-verify=false", "docker://" + pushed.reference])
        #expect(inspected["Digest"] as? String == pushed.digest)
        #expect(inspected["Architecture"] as? String == TestImagePlatform.native.architecture)
        let config = try Skopeo.json(["inspect", "--config", "--raw", "--no-creds", "--tls-verify=false", "docker://" + pushed.reference])
        let settings = config["config"] as? [String: Any] ?? [:]
        #expect(settings["Cmd"] as? [String] == ["sh", "-c", "echo hello"])
        #expect(settings["Env"] as? [String] == ["PATH=/bin"])
        #expect(settings["WorkingDir"] as? String == "/")

        // curl: the manifest by tag and by digest, and the layer blob.
        let manifest = try Curl.get(registry.url + "/v2/kinglet/busybox/manifests/1", accept: Self.accept)
        #expect(manifest.status == 200)
        #expect(manifest.header("docker-content-digest") == pushed.digest)
        #expect(manifest.body == pushed.rawManifest)
        let byDigest = try Curl.get(registry.url + "/v2/kinglet/busybox/manifests/\(pushed.digest)", accept: Self.accept)
        #expect(byDigest.status == 200 && byDigest.body == pushed.rawManifest)
        let layer = pushed.layers[0]
        let blob = try Curl.get(registry.url + "/v2/kinglet/busybox/blobs/\(layer.digest)")
        #expect(blob.status == 200 && blob.body.count == layer.size)
        #expect(FileManager.default.fileExists(atPath: registry.blobPath(layer.digest)))

        // A full pull by another client lands the same manifest.
        let copy = images.folder + "/pulled"
        try Skopeo.check(["copy", "--src-tls-verify=false", "--src-no-creds", "docker://" + pushed.reference, "oci:\(copy):pulled"])
        #expect(FileManager.default.fileExists(atPath: copy + "/blobs/" + layer.digest.replacingOccurrences(of: ":", with: "/")))
    }

    @Test func basicAuthRegistryRefusesAWrongPasswordAndServesTheRightOne() throws {
        let right = RegistryCredentials(username: "kinglet", password: "s3cret-pass")
        let registry = try RegistryPeer.start(label: "basic", auth: .basic(right))
        defer { registry.stop() }
        let images = try TestImages(label: "basic")
        defer { images.remove() }
        let pushed = try images.push(try images.busybox(), to: registry, repository: "kinglet/private", tag: "1")

        let challenge = try Curl.get(registry.url + "/v2/")
        #expect(challenge.status == 401)
        #expect(challenge.header("www-authenticate") == "Basic realm=\"kinglet-registry\"")
        let url = registry.url + "/v2/kinglet/private/manifests/1"
        #expect(try Curl.get(url, accept: Self.accept).status == 401)
        #expect(try Curl.get(url, user: "kinglet:wrong-pass", accept: Self.accept).status == 401)
        #expect(try Curl.get(url, user: "someone:s3cret-pass", accept: Self.accept).status == 401)
        let allowed = try Curl.get(url, user: right.colonSeparated, accept: Self.accept)
        #expect(allowed.status == 200 && allowed.header("docker-content-digest") == pushed.digest)

        let refused = try Skopeo.run(["inspect", "--raw", "--tls-verify=false", "--creds", "kinglet:wrong-pass", "docker://" + pushed.reference])
        #expect(refused.status != 0 && !refused.timedOut)
        #expect(refused.standardError.lowercased().contains("unauthorized"), "\(refused.standardError)")
        let anonymous = try Skopeo.run(["inspect", "--raw", "--tls-verify=false", "--no-creds", "docker://" + pushed.reference])
        #expect(anonymous.status != 0 && !anonymous.timedOut)
        let raw = try TestImages.inspectRaw(pushed.reference, credentials: right)
        #expect(raw == pushed.rawManifest)
    }

    @Test func tokenRegistryChallengesWithBearerAndServesTheManifestWithATokenFromTheRealm() throws {
        let tokens = try TokenServerPeer.start(label: "flow")
        defer { tokens.removeFiles() }
        let registry = try RegistryPeer.start(label: "token", auth: .token(tokens))
        defer { registry.stop() }
        let images = try TestImages(label: "token")
        defer { images.remove() }
        let pushed = try images.push(try images.busybox(), to: registry, repository: "kinglet/busybox", tag: "1")
        #expect(tokens.requests.contains { $0.user == "kinglet" && $0.granted.contains { $0.actions.contains("push") } },
                "skopeo's push went through the token flow: \(tokens.requests)")

        let base = try Curl.get(registry.url + "/v2/")
        #expect(base.status == 401)
        #expect(base.header("www-authenticate") == "Bearer realm=\"\(tokens.realm)\",service=\"kinglet-registry\"")

        let url = registry.url + "/v2/kinglet/busybox/manifests/1"
        let refused = try Curl.get(url, accept: Self.accept)
        #expect(refused.status == 401)
        let challenge = try #require(refused.header("www-authenticate"))
        let parameters = Self.bearerParameters(challenge)
        #expect(parameters["realm"] == tokens.realm)
        #expect(parameters["service"] == "kinglet-registry")
        #expect(parameters["scope"] == "repository:kinglet/busybox:pull")

        // The realm, as a client builds the request from the challenge.
        let tokenURL = try #require(parameters["realm"]) + "?service=\(parameters["service"] ?? "")&scope=\(parameters["scope"] ?? "")"
        let answer = try Curl.get(tokenURL, user: "kinglet:kinglet-secret")
        #expect(answer.status == 200, "\(String(decoding: answer.body, as: UTF8.self))")
        let json = try #require(try JSONSerialization.jsonObject(with: answer.body) as? [String: Any])
        let token = try #require(json["token"] as? String)
        #expect(json["access_token"] as? String == token)
        #expect(json["expires_in"] as? Int == 300)
        let issuedAt = try #require(json["issued_at"] as? String)
        #expect(ISO8601DateFormatter().date(from: issuedAt) != nil, "\(issuedAt)")
        let claims = try TokenClaims.decode(token: token)
        #expect(claims.iss == tokens.issuer && claims.aud == tokens.service && claims.sub == "kinglet")
        #expect(claims.exp - claims.iat == 300 && claims.nbf <= claims.iat && !claims.jti.isEmpty)
        #expect(claims.access == [TokenAccess(name: "kinglet/busybox", actions: ["pull"])])
        let header = try TokenClaims.header(token: token)
        #expect(header.alg == "ES256" && header.kid == tokens.key.keyID && header.x5c == nil)

        let allowed = try Curl.get(url, bearer: token, accept: Self.accept)
        #expect(allowed.status == 200, "\(String(decoding: allowed.body, as: UTF8.self))\n\(registry.log.suffix(2000))")
        #expect(allowed.header("docker-content-digest") == pushed.digest)
        #expect(try Curl.get(registry.url + "/v2/", bearer: token).status == 200)

        // skopeo pulls with the credentials, and not with a wrong password.
        let raw = try TestImages.inspectRaw(pushed.reference, credentials: RegistryCredentials(username: "kinglet", password: "kinglet-secret"))
        #expect(raw == pushed.rawManifest)
        let wrong = try Skopeo.run(["inspect", "--raw", "--tls-verify=false", "--creds", "kinglet:nope", "docker://" + pushed.reference])
        #expect(wrong.status != 0 && !wrong.timedOut)
        #expect(tokens.requests.contains { $0.user == "kinglet" && $0.status == 401 })
    }

    @Test func tokenIssuerGrantsOnlyTheIntersectionAndTheRegistryHoldsTokensToIt() throws {
        let tokens = try TokenServerPeer.start(options: .init(users: [
            TokenUser(name: "writer", password: "w-pass"),
            TokenUser(name: "reader", password: "r-pass", actions: ["pull"], repositories: ["kinglet/*"]),
        ]), label: "grants")
        defer { tokens.removeFiles() }
        let registry = try RegistryPeer.start(label: "grants", auth: .token(tokens))
        defer { registry.stop() }
        let images = try TestImages(label: "grants")
        defer { images.remove() }
        _ = try images.push(try images.busybox(), to: registry, repository: "kinglet/app", tag: "1")
        let manifest = registry.url + "/v2/kinglet/app/manifests/1"

        func token(_ user: String?, _ scopes: [String], service: String = "kinglet-registry") throws -> (Int, String?) {
            let query = (["service=\(service)"] + scopes.map { "scope=\($0)" }).joined(separator: "&")
            let answer = try Curl.get(tokens.realm + "?" + query, user: user)
            let json = try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any]
            return (answer.status, json?["token"] as? String)
        }

        #expect(try token("reader:wrong", ["repository:kinglet/app:pull"]).0 == 401)
        #expect(try token("nobody:r-pass", ["repository:kinglet/app:pull"]).0 == 401)
        #expect(try token("reader:r-pass", ["repository:kinglet/app:pull"], service: "elsewhere").0 == 400)

        // The reader asks for pull and push and gets pull: not an error, a smaller grant.
        let (status, readerToken) = try token("reader:r-pass", ["repository:kinglet/app:pull,push"])
        #expect(status == 200)
        let read = try #require(readerToken)
        #expect(try TokenClaims.decode(token: read).access == [TokenAccess(name: "kinglet/app", actions: ["pull"])])
        #expect(try Curl.get(manifest, bearer: read, accept: Self.accept).status == 200)
        // Outside its repositories, nothing.
        let other = try #require(try token("reader:r-pass", ["repository:other/app:pull"]).1)
        #expect(try TokenClaims.decode(token: other).access == [TokenAccess(name: "other/app", actions: [])])
        // Several scopes in one request.
        let both = try #require(try token("writer:w-pass", ["repository:kinglet/app:pull", "repository:kinglet/app:push"]).1)
        #expect(try TokenClaims.decode(token: both).access == [TokenAccess(name: "kinglet/app", actions: ["pull", "push"])])

        // Anonymous gets a token with an empty grant, which the registry refuses.
        let (anonymousStatus, anonymousToken) = try token(nil, ["repository:kinglet/app:pull"])
        #expect(anonymousStatus == 200)
        let empty = try #require(anonymousToken)
        #expect(try TokenClaims.decode(token: empty).access == [TokenAccess(name: "kinglet/app", actions: [])])
        let insufficient = try Curl.get(manifest, bearer: empty, accept: Self.accept)
        #expect(insufficient.status == 401)
        #expect(insufficient.header("www-authenticate")?.contains("error=\"insufficient_scope\"") == true,
                "\(insufficient.headers)")

        // Tokens the registry must refuse: expired beyond its 60 s leeway, another audience,
        // another issuer, another key.
        let access = [TokenAccess(name: "kinglet/app", actions: ["pull"])]
        #expect(try Curl.get(manifest, bearer: try tokens.issue(subject: "writer", access: access, lifetime: -120),
                             accept: Self.accept).status == 401)
        #expect(try Curl.get(manifest, bearer: try tokens.issue(subject: "writer", access: access, audience: "elsewhere"),
                             accept: Self.accept).status == 401)
        #expect(try Curl.get(manifest, bearer: try tokens.issue(subject: "writer", access: access, issuer: "someone-else"),
                             accept: Self.accept).status == 401)
        let stranger = try TokenServerPeer.start(label: "stranger")
        defer { stranger.removeFiles() }
        #expect(try Curl.get(manifest, bearer: try stranger.issue(subject: "writer", access: access), accept: Self.accept).status == 401)
        #expect(try Curl.get(manifest, bearer: try tokens.issue(subject: "writer", access: access), accept: Self.accept).status == 200)
    }

    /// Distribution 2.8 finds the key by `kid` (libtrust fingerprint over the rootcertbundle)
    /// or by `x5c` (a chain to the bundle), and verifies ES256 and RS256.
    @Test(arguments: TokenSigningAlgorithm.allCases, TokenKeyReference.allCases)
    func registryAcceptsTokensOfEachAlgorithmAndKeyReference(algorithm: TokenSigningAlgorithm, reference: TokenKeyReference) throws {
        let tokens = try TokenServerPeer.start(options: .init(anonymousActions: ["pull"], algorithm: algorithm, keyReference: reference),
                                               label: "\(algorithm)-\(reference)")
        defer { tokens.removeFiles() }
        let registry = try RegistryPeer.start(label: "keys", auth: .token(tokens))
        defer { registry.stop() }
        let answer = try Curl.get(tokens.realm + "?service=kinglet-registry&scope=repository:kinglet/none:pull")
        #expect(answer.status == 200)
        let json = try #require(try JSONSerialization.jsonObject(with: answer.body) as? [String: Any])
        let token = try #require(json["token"] as? String)
        let header = try TokenClaims.header(token: token)
        #expect(header.alg == algorithm.rawValue && header.kid == tokens.key.keyID)
        #expect((header.x5c != nil) == (reference == .certificateChain))
        #expect(try TokenClaims.decode(token: token).access == [TokenAccess(name: "kinglet/none", actions: ["pull"])])
        #expect(try Curl.get(registry.url + "/v2/", bearer: token).status == 200, "\(registry.log.suffix(1500))")
        // Accepted, and the repository is simply unknown.
        let missing = try Curl.get(registry.url + "/v2/kinglet/none/manifests/1", bearer: token, accept: Self.accept)
        #expect(missing.status == 404, "\(String(decoding: missing.body, as: UTF8.self))")
    }

    @Test func multiPlatformIndexListsTheThreePlatformsAndEachEntryCarriesItsMarker() throws {
        let registry = try RegistryPeer.start(label: "multi")
        defer { registry.stop() }
        let images = try TestImages(label: "multi")
        defer { images.remove() }
        let multi = try images.multiPlatform(tag: "multi")
        let pushed = try images.push(multi, to: registry, repository: "kinglet/multi", tag: "1")
        #expect(pushed.isIndex && pushed.mediaType == Self.ociIndex && pushed.digest == multi.digest)
        #expect(pushed.entries.map(\.platform) == [.amd64, .arm64, .armV7])
        #expect(Set(pushed.entries.map(\.digest)).count == 3)

        // skopeo, independently: the index as served lists the three platforms.
        let index = try Skopeo.json(["inspect", "--raw", "--no-creds", "--tls-verify=false", "docker://" + pushed.reference])
        let listed = (index["manifests"] as? [[String: Any]] ?? []).compactMap { $0["platform"] as? [String: String] }
        #expect(listed == [["os": "linux", "architecture": "amd64"], ["os": "linux", "architecture": "arm64"],
                           ["os": "linux", "architecture": "arm", "variant": "v7"]])

        // Choosing by platform, as a client does, lands on the entry with that marker.
        for platform in [TestImagePlatform.amd64, .arm64, .armV7] {
            var override = ["--override-os", platform.os, "--override-arch", platform.architecture]
            if let variant = platform.variant { override += ["--override-variant", variant] }
            let config = try Skopeo.json(override + ["inspect", "--config", "--raw", "--no-creds", "--tls-verify=false",
                                                     "docker://" + pushed.reference])
            #expect(config["architecture"] as? String == platform.architecture)
            #expect(config["variant"] as? String == platform.variant)
            let env = (config["config"] as? [String: Any])?["Env"] as? [String] ?? []
            #expect(env.contains("KINGLET_PLATFORM=\(platform)"), "\(platform): \(env)")
            let entry = try Curl.get(registry.url + "/v2/kinglet/multi/manifests/\(try #require(pushed.digest(for: platform)))",
                                     accept: Self.accept)
            #expect(entry.status == 200 && entry.header("content-type") == Self.ociManifest)
        }
        let byTag = try Curl.get(registry.url + "/v2/kinglet/multi/manifests/1", accept: Self.accept)
        #expect(byTag.status == 200 && byTag.header("content-type") == Self.ociIndex)

        // The same index as a Docker manifest list.
        let docker = try images.push(multi, to: registry, repository: "kinglet/multi", tag: "docker", format: .docker)
        #expect(docker.mediaType == Self.dockerList, "\(String(decoding: docker.rawManifest, as: UTF8.self))")
        #expect(docker.entries.map(\.platform) == [.amd64, .arm64, .armV7])
        #expect(docker.entries.allSatisfy { $0.mediaType == Self.dockerManifest })
    }

    @Test func randomLayerImageCarriesALayerOfTheRequestedSizeAndDockerFormatConverts() throws {
        let registry = try RegistryPeer.start(label: "sized")
        defer { registry.stop() }
        let images = try TestImages(label: "sized")
        defer { images.remove() }
        let image = try images.withRandomLayer(megabytes: 1, tag: "1mb")
        let pushed = try images.push(image, to: registry, repository: "kinglet/sized", tag: "1mb")
        #expect(pushed.layers.count == 2)
        let random = try #require(pushed.layers.last)
        #expect(random.size >= 1 << 20 && random.size < (1 << 20) + 64 * 1024, "random bytes do not compress: \(random.size)")

        let docker = try images.push(image, to: registry, repository: "kinglet/sized", tag: "docker", format: .docker)
        #expect(docker.mediaType == Self.dockerManifest)
        #expect(docker.digest != pushed.digest && docker.layers.map(\.size) == pushed.layers.map(\.size))
        let served = try Curl.get(registry.url + "/v2/kinglet/sized/manifests/docker", accept: Self.accept)
        #expect(served.status == 200 && served.header("docker-content-digest") == docker.digest)
    }

    @Test func tlsRegistryServesHTTPSWithItsTestCA() throws {
        let registry = try RegistryPeer.start(label: "tls", tls: true)
        defer { registry.stop() }
        #expect(registry.url.hasPrefix("https://"))
        let ca = try #require(registry.caFile)
        #expect(try Curl.get(registry.url + "/v2/", cacert: ca).status == 200)
        let untrusted = try Curl.get(registry.url + "/v2/")
        #expect(untrusted.status == 0, "curl refuses the unknown CA")
        let images = try TestImages(label: "tls")
        defer { images.remove() }
        let pushed = try images.push(try images.busybox(), to: registry, repository: "kinglet/tls", tag: "1")
        let manifest = try Curl.get(registry.url + "/v2/kinglet/tls/manifests/1", accept: Self.accept, cacert: ca)
        #expect(manifest.status == 200 && manifest.header("docker-content-digest") == pushed.digest)
    }

    @Test func restartKeepsTheStorageAndStopReapsTheRegistry() throws {
        let registry = try RegistryPeer.start(label: "restart")
        let images = try TestImages(label: "restart")
        defer { images.remove() }
        let pushed = try images.push(try images.busybox(), to: registry, repository: "kinglet/kept", tag: "1")
        registry.kill9()
        #expect(!Loopback.accepts(port: registry.port))
        try registry.restart()
        #expect(try TestImages.inspectRaw(pushed.reference) == pushed.rawManifest)
        let process = registry.process
        registry.stop()
        #expect(!process.isRunning)
        #expect(kill(process.pid, 0) != 0, "the process is reaped, not a zombie")
        #expect(!Loopback.accepts(port: registry.port))
        #expect(!FileManager.default.fileExists(atPath: registry.folder))
    }

    @Test func libtrustKeyIDMatchesTheKnownFormat() {
        // 30 bytes of SHA-256, base32, 12 groups of 4 (libtrust's keyIDEncode).
        let id = TokenSigningKey.libtrustKeyID(subjectPublicKeyInfo: Data("kinglet".utf8))
        let groups = id.split(separator: ":")
        #expect(groups.count == 12 && groups.allSatisfy { $0.count == 4 })
        #expect(TestImageDigest.ociDigest(Data("abc".utf8))
                == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(TestImageDigest.ociDigest(Data())
                == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let long = Data(repeating: 0x61, count: 1_000_000)
        #expect(TestImageDigest.ociDigest(long) == "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// `Bearer realm="...",service="...",scope="..."` → its parameters.
    static func bearerParameters(_ challenge: String) -> [String: String] {
        guard challenge.hasPrefix("Bearer ") else { return [:] }
        var parameters: [String: String] = [:]
        let pattern = try! NSRegularExpression(pattern: "([a-z_]+)=\"([^\"]*)\"")
        let text = String(challenge.dropFirst(7))
        for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            guard let name = Range(match.range(at: 1), in: text), let value = Range(match.range(at: 2), in: text) else { continue }
            parameters[String(text[name])] = String(text[value])
        }
        return parameters
    }
}

/// curl, bounded, with the status, the last response's headers and the body apart.
enum Curl {
    static let path = "/usr/bin/curl"
    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: path) }

    struct Response {
        /// 0 when no HTTP answer (connection or TLS failure).
        let status: Int
        let headers: [(String, String)]
        let body: Data
        func header(_ name: String) -> String? { headers.last { $0.0 == name }?.1 }
    }

    static func get(_ url: String, user: String? = nil, bearer: String? = nil, accept: [String] = [],
                    cacert: String? = nil) throws -> Response {
        let base = NSTemporaryDirectory() + "kinglet-curl-\(UUID().uuidString.prefix(12))"
        defer {
            try? FileManager.default.removeItem(atPath: base + ".headers")
            try? FileManager.default.removeItem(atPath: base + ".body")
        }
        var arguments = ["-sS", "--max-time", "20", "-D", base + ".headers", "-o", base + ".body", "-w", "%{http_code}"]
        if let user { arguments += ["-u", user] }
        if let bearer { arguments += ["-H", "Authorization: Bearer \(bearer)"] }
        if !accept.isEmpty { arguments += ["-H", "Accept: " + accept.joined(separator: ", ")] }
        if let cacert { arguments += ["--cacert", cacert] }
        arguments.append(url)
        let result = try TestImageTool.run(path, arguments, within: 30)
        let headerText = (try? String(contentsOfFile: base + ".headers", encoding: .utf8)) ?? ""
        // The last block: the answer after any interim (1xx) ones.
        let block = headerText.components(separatedBy: "\r\n\r\n").last { !$0.isEmpty } ?? ""
        let headers = block.components(separatedBy: "\r\n").dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return Response(status: Int(result.text) ?? 0, headers: headers,
                        body: (try? Data(contentsOf: URL(fileURLWithPath: base + ".body"))) ?? Data())
    }
}

/// skopeo with `--insecure-policy`, bounded.
enum Skopeo {
    static func run(_ arguments: [String]) throws -> TestImageToolResult {
        try TestImageTool.run(TestImages.skopeo, ["--insecure-policy"] + arguments, within: 60)
    }

    @discardableResult
    static func check(_ arguments: [String]) throws -> TestImageToolResult {
        try TestImageTool.check(TestImages.skopeo, ["--insecure-policy"] + arguments, within: 60)
    }

    static func json(_ arguments: [String]) throws -> [String: Any] {
        let output = try check(arguments).standardOutput
        guard let object = try JSONSerialization.jsonObject(with: output) as? [String: Any] else {
            throw PeerError("skopeo \(arguments.joined(separator: " ")): not a JSON object")
        }
        return object
    }
}
