import Foundation
import Testing
import TunerServer

/// `tuner serve` as a real process: it reports its port, answers, and on SIGTERM stops
/// accepting connections and exits cleanly.
@Suite struct ServeProcessTests {
    /// The `tuner` executable built beside the test bundle.
    static let tuner = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tuner")

    /// Starts the tuner with `arguments` in the repository and reads its stdout until `marker`
    /// and the end of that line (a server saying where it listens); the caller stops it.
    static func launch(_ arguments: [String], until marker: String, in directory: URL = Loopback.repository) throws -> Launched {
        let process = Process()
        process.executableURL = tuner
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let output = Pipe()
        process.standardOutput = output
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let launched = Launched(process: process, stdout: output.fileHandleForReading, stderr: errors.fileHandleForReading)
        launched.read(until: marker)
        return launched
    }

    /// A tuner process and what it has printed so far.
    final class Launched {
        let process: Process
        let stdout: FileHandle
        let stderr: FileHandle
        private(set) var output = ""

        init(process: Process, stdout: FileHandle, stderr: FileHandle) {
            self.process = process
            self.stdout = stdout
            self.stderr = stderr
        }

        /// Stops the process and returns everything it printed, stdout then stderr.
        func stop() -> String {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            output += String(decoding: stdout.readDataToEndOfFile(), as: UTF8.self)
            return output + String(decoding: stderr.readDataToEndOfFile(), as: UTF8.self)
        }

        /// Reads on until the text printed since `output`'s current end holds `marker` and the end
        /// of its line, or 60 s pass; returns that new text.
        @discardableResult
        func read(until marker: String) -> String {
            let start = output.endIndex
            let deadline = Date().addingTimeInterval(60)
            while !(output[start...].range(of: marker).map { output[$0.upperBound...].contains("\n") } ?? false), Date() < deadline {
                let chunk = stdout.availableData
                if chunk.isEmpty { break }
                output += String(decoding: chunk, as: UTF8.self)
            }
            return String(output[start...])
        }

        deinit { if process.isRunning { process.terminate() } }
    }

    @Test func sigtermShutsTheServerDownGracefully() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.tuner.path), "no tuner binary at \(Self.tuner.path)")
        let launched = try Self.launch(["serve", "--dataset", Loopback.repository.appendingPathComponent("datasets/demo").path, "--port", "0"],
                                       until: "tuner serve: http://")
        let (process, text) = (launched.process, launched.output)
        let address = try #require(text.split(separator: " ").first { $0.hasPrefix("http://") }.map(String.init))
        let base = try #require(URL(string: address))
        #expect(try await Loopback.request(base.appendingPathComponent("health")).status == 200)

        kill(process.processIdentifier, SIGTERM)
        let exited = Date().addingTimeInterval(15)
        while process.isRunning, Date() < exited { try await Task.sleep(nanoseconds: 50_000_000) }
        #expect(!process.isRunning && process.terminationReason == .exit && process.terminationStatus == 0)
        await #expect(throws: (any Error).self) { _ = try await Loopback.request(base.appendingPathComponent("health")) }
    }
}

/// A connection that sends nothing is closed after the idle timeout, so idle or abandoned clients
/// cannot hold the server's connections open forever (there was no timeout).
@Suite struct IdleConnectionTests {
    @Test func anIdleConnectionIsClosed() async throws {
        let server = TunerServer(evaluator: Loopback.evaluator, policy: nil)
        try await Loopback.withServer({ server.application(port: 0, idleTimeoutSeconds: 0.5, onRunning: $0) }) { base in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            try #require(fd >= 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(base.port!).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            try #require(connected == 0)
            // A receive timeout well past the idle timeout: recv returns 0 (closed by the server), not -1 (timed out).
            var wait = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
            let start = Date()
            var byte: UInt8 = 0
            let received = recv(fd, &byte, 1, 0)
            #expect(received == 0, "recv returned \(received)")
            #expect(Date().timeIntervalSince(start) < 5)
        }
    }
}
