import Hummingbird

/// Seconds a connection may stay open with no request before the server closes it, so idle or
/// abandoned clients cannot hold connections (and their memory) forever.
public let defaultIdleTimeoutSeconds = 30.0

/// The HTTP application every server of the tuner runs (`tuner serve`, shadow, canary): `router`
/// on `host:port`, where port 0 picks a free one, reported to `onRunning` once listening.
func serverApplication<Context: RequestContext>(
    _ router: Router<Context>, name: String, host: String, port: Int, idleTimeoutSeconds: Double = defaultIdleTimeoutSeconds,
    onRunning: @escaping @Sendable (Int) async -> Void
) -> some ApplicationProtocol where Context.Source == ApplicationRequestContextSource {
    Application(
        router: router, server: .http1(configuration: .init(idleTimeout: .milliseconds(Int64(idleTimeoutSeconds * 1000)))),
        configuration: .init(address: .hostname(host, port: port), serverName: name),
        onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) })
}
