import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real HTTP/1.1 server on 127.0.0.1 (an ephemeral port) that answers each request with the
/// next scripted response, optionally after a delay, and records the request bodies.
final class ScriptedHTTPServer: @unchecked Sendable {
    struct Response {
        var status: Int
        var body: String
        var delay: TimeInterval = 0
    }

    let port: UInt16
    private let socket: Int32
    private let lock = NSLock()
    private var script: [Response]
    private(set) var requestBodies: [String] = []

    init(_ script: [Response]) throws {
        self.script = script
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        socket = fd
        port = UInt16(bigEndian: address.sin_port)
        Thread { [self] in serve() }.start()
    }

    var url: URL { URL(string: "http://127.0.0.1:\(port)/judge")! }

    func stop() { shutdown(socket, Int32(SHUT_RDWR)); close(socket) }

    private func serve() {
        while true {
            let client = accept(socket, nil, nil)
            guard client >= 0 else { return }
            let body = readRequestBody(client)
            lock.lock()
            requestBodies.append(body)
            let response = script.isEmpty ? Response(status: 500, body: "script exhausted") : script.removeFirst()
            lock.unlock()
            if response.delay > 0 { Thread.sleep(forTimeInterval: response.delay) }
            let payload = Array(response.body.utf8)
            let head = "HTTP/1.1 \(response.status) X\r\nContent-Type: application/json\r\nContent-Length: \(payload.count)\r\nConnection: close\r\n\r\n"
            let bytes = Array(head.utf8) + payload
            _ = bytes.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            close(client)
        }
    }

    private func readRequestBody(_ client: Int32) -> String {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(client, &buffer, buffer.count, 0)
            guard n > 0 else { break }
            data += buffer[0..<n]
            let text = String(decoding: data, as: UTF8.self)
            guard let headerEnd = text.range(of: "\r\n\r\n") else { continue }
            let header = text[..<headerEnd.lowerBound].lowercased()
            let length = header.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            let bodyStart = text.utf8.distance(from: text.startIndex, to: headerEnd.upperBound)
            if data.count - bodyStart >= length { return String(decoding: data[bodyStart...], as: UTF8.self) }
        }
        return ""
    }
}
