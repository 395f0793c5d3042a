import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import TunerPolicy

/// Guards the endpoints that change a server's state: a request passes only with
/// `Authorization: Bearer <token>`; without a configured token they are off (403), so a server
/// started without `--auth-token-file` cannot be changed over the network at all.
struct AdminAccess<Context: RequestContext>: RouterMiddleware {
    let token: AccessToken?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token else {
            throw HTTPError(.forbidden, message: "\(request.uri.path) changes the server's state; start it with --auth-token-file to enable it")
        }
        guard token.admits(request.headers.bearer?.token) else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "\(request.uri.path) needs Authorization: Bearer <token>")
        }
        return try await next(request, context)
    }
}

/// What `POST /admin/reload` answers: the version now serving and the one it replaced.
public struct PolicyReload: ResponseCodable, Sendable, Equatable {
    public var policyVersion: String
    public var replaced: String
    enum CodingKeys: String, CodingKey {
        case policyVersion = "policy_version"
        case replaced
    }
}

extension Router {
    /// `POST /admin/reload` behind ``AdminAccess``: reads `policy`'s file again; a file that
    /// fails verification leaves the running policy serving and answers 422 with the reason.
    func addReload(_ policy: ServedPolicy, token: AccessToken?) {
        group("admin").add(middleware: AdminAccess<Context>(token: token)).post("reload") { _, _ -> PolicyReload in
            let replaced = policy.version
            do {
                return PolicyReload(policyVersion: try policy.reload(), replaced: replaced)
            } catch {
                throw HTTPError(.unprocessableContent, message: "the checkpoint was refused, \(replaced) keeps serving: \(error)")
            }
        }
    }
}
