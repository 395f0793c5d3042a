import Foundation
import Testing

/// `tuner serve` as a real process: it reports its port, answers, and on SIGTERM stops
/// accepting connections and exits cleanly.
@Suite struct ServeProcessTests {
    /// The `tuner` executable built beside the test bundle.
    static let tuner = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tuner")

    /// Starts the tuner with `arguments` in the repository and reads its stdout until `marker`
    /// and the end of that line (a server saying where it listens); the caller stops it.
    static func launch(_ arguments: [String], until marker: String) throws -> (process: Process, output: String) {
        let process = Process()
        process.executableURL = tuner
        process.arguments = arguments
        process.currentDirectoryURL = Loopback.repository
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        let deadline = Date().addingTimeInterval(60)
        while !(text.range(of: marker).map { text[$0.upperBound...].contains("\n") } ?? false), Date() < deadline {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        return (process, text)
    }

    @Test func sigtermShutsTheServerDownGracefully() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.tuner.path), "no tuner binary at \(Self.tuner.path)")
        let (process, text) = try Self.launch(["serve", "--dataset", Loopback.repository.appendingPathComponent("datasets/demo").path, "--port", "0"],
                                              until: "tuner serve: http://")
        defer { if process.isRunning { process.terminate() } }
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
