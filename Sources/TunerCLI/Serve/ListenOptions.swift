import ArgumentParser
import Foundation
import TunerPolicy
import TunerServer

/// How every server of the tuner listens (`serve`, `shadow`, `canary`): the address, the port
/// and the idle timeout of its connections.
struct ListenOptions: ParsableArguments {
    @Option(help: "Address to listen on: 127.0.0.1 by default; where clients reach it (0.0.0.0: every interface) when a proxy stands in front of production.")
    var host = "127.0.0.1"

    @Option(help: "Port (0 picks a free one; default: serve 8080, shadow 8081, canary 8082).")
    var port: Int?

    @Option(help: "Seconds a connection may stay open without a request before it is closed.")
    var idleTimeout = defaultIdleTimeoutSeconds

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must lie in 0...65535, got \(port)") }
        guard idleTimeout.isFinite, (0.1...3_600).contains(idleTimeout) else { throw ValidationError("--idle-timeout must lie in 0.1...3600 seconds, got \(idleTimeout)") }
    }

    /// --port, else the command's own default.
    func port(default fallback: Int) -> Int { port ?? fallback }
}

/// The token that the endpoints changing a server's state require (`serve`, `shadow`).
struct AdminOptions: ParsableArguments {
    @Option(help: "File holding the bearer token (at least 16 printable characters) that POST /admin/reload requires; without it the endpoint is off.")
    var authTokenFile: String?

    func validate() throws {
        _ = try accessToken
    }

    var accessToken: AccessToken? {
        get throws {
            do {
                return try authTokenFile.map { try AccessToken(contentsOf: URL(fileURLWithPath: $0)) }
            } catch let refusal as AccessToken.Refusal {
                throw ValidationError("--auth-token-file: \(refusal.description)")
            }
        }
    }
}
