import Hummingbird

/// The HTTP application every server of the tuner runs (`tuner serve`, shadow, canary): `router`
/// on `host:port`, where port 0 picks a free one, reported to `onRunning` once listening.
func serverApplication<Context: RequestContext>(
    _ router: Router<Context>, name: String, host: String, port: Int, onRunning: @escaping @Sendable (Int) async -> Void
) -> some ApplicationProtocol where Context.Source == ApplicationRequestContextSource {
    Application(
        router: router, configuration: .init(address: .hostname(host, port: port), serverName: name),
        onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) })
}
