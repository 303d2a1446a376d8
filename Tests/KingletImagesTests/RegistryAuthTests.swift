import KingletCore
import KingletDocument
import Testing
@testable import KingletImages

@Suite struct RegistryAuthTests {
    @Test func aDockerConfigGivesCredentialsByRegistryWhateverFormItsKeysTake() throws {
        let json = """
            {"auths": {
              "https://index.docker.io/v1/": {"auth": "\(Base64.encode(Array("hub-user:hub:pass".utf8)))"},
              "registry.local:5000": {"username": "plc", "password": "s3cret"},
              "https://ghcr.io": {"auth": "\(Base64.encode(Array("gh:token".utf8)))", "email": "x@example.com"},
              "helper.example": {"identitytoken": "opaque"}},
             "credHelpers": {"ecr.example": "ecr-login"}}
            """
        let store = try RegistryCredentialStore.parse(Array(json.utf8), source: "config.json")
        // The password may itself hold a colon: only the first one separates.
        #expect(store.credentials(for: "docker.io") == RegistryCredentials(username: "hub-user", password: "hub:pass"))
        #expect(store.credentials(for: "registry.local:5000") == RegistryCredentials(username: "plc", password: "s3cret"))
        #expect(store.credentials(for: "ghcr.io") == RegistryCredentials(username: "gh", password: "token"))
        #expect(store.credentials(for: "helper.example") == nil)
        #expect(store.credentials(for: "registry.local") == nil, "the port is part of the registry's name")
        #expect(RegistryCredentials(username: "plc", password: "s3cret").basicAuthorization == "Basic cGxjOnMzY3JldA==")
    }

    @Test func pullSecretsOverrideTheBoardsConfig() throws {
        var board = try RegistryCredentialStore.parse(Array(#"{"auths": {"r.example": {"username": "board", "password": "a"}}}"#.utf8), source: "board")
        let secret = try RegistryCredentialStore.parse(Array(#"{"auths": {"r.example": {"username": "pod", "password": "b"}}}"#.utf8), source: "secret")
        board.merge(secret)
        #expect(board.credentials(for: "r.example")?.username == "pod")
    }

    @Test func aBadAuthFieldIsReportedWithItsPlace() {
        do {
            _ = try RegistryCredentialStore.parse(Array(#"{"auths": {"r.example": {"auth": "bm8tY29sb24="}}}"#.utf8), source: "config.json")
            Issue.record("accepted an auth without a colon")
        } catch {
            #expect(error.description == "config.json:1:34: auths.r.example.auth: expected base64 of user:password")
        }
    }

    @Test func bearerChallengesGiveTheTokenRequest() throws {
        let challenge = try #require(RegistryChallenge(header:
            #"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:acme/app:pull""#))
        #expect(challenge.scheme == "Bearer")
        #expect(challenge.parameter("service") == "registry.example.com")
        #expect(try challenge.tokenURL(repository: "ignored")?.description ==
                "https://auth.example.com/token?service=registry.example.com&scope=repository%3Aacme%2Fapp%3Apull")
        // Without a scope, the pull scope of the repository; unquoted values and spaces after commas.
        let bare = try #require(RegistryChallenge(header: "Bearer realm=http://127.0.0.1:9/t, service=reg"))
        #expect(try bare.tokenURL(repository: "kinglet/busybox")?.description ==
                "http://127.0.0.1:9/t?service=reg&scope=repository%3Akinglet%2Fbusybox%3Apull")
        let basic = try #require(RegistryChallenge(header: #"Basic realm="Registry Realm""#))
        #expect(basic.scheme == "Basic")
        #expect(basic.parameter("realm") == "Registry Realm")
        #expect(try basic.tokenURL(repository: "x") == nil)
        #expect(RegistryChallenge(header: "") == nil)
    }

    @Test func tokenAnswersUseTokenOrAccessTokenAndLastAtLeastAMinute() throws {
        #expect(try RegistryToken.parse(Array(#"{"token": "abc", "expires_in": 300}"#.utf8), source: "t").token == "abc")
        #expect(try RegistryToken.parse(Array(#"{"access_token": "xyz"}"#.utf8), source: "t").token == "xyz")
        #expect(try RegistryToken.parse(Array(#"{"token": "abc", "expires_in": 5}"#.utf8), source: "t").expiresIn == 60)
        #expect(throws: DocumentError.self) { try RegistryToken.parse(Array(#"{"expires_in": 5}"#.utf8), source: "t") }
    }
}
