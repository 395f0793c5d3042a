import Foundation
import Testing
import TunerPolicy

/// `tuner shadow` as a process: it listens where `--host` says (a proxy in front of production
/// must be reachable by production's clients), and a candidate checkpoint of NaN weights is
/// refused before it listens, naming the tensor — it once loaded and crashed the proxy on the
/// first mirrored query.
@Suite struct ProxyProcessTests {
    @Test func theShadowProxyListensOnItsHostAndRefusesACandidateThatCannotServe() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: ServeProcessTests.tuner.path), "no tuner binary at \(ServeProcessTests.tuner.path)")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("proxy-process-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = folder.appendingPathComponent("candidate.ckpt"), poisoned = folder.appendingPathComponent("nan.ckpt")
        var checkpoint = try CanaryTests.constantPolicy(RAGSettings(), seed: 4).checkpoint
        try checkpoint.write(to: good)
        checkpoint.parameters = checkpoint.parameters.map { _ in .nan }
        try checkpoint.write(to: poisoned)

        let refused = try TrainProcessTests.refusal(["shadow", "--production", "http://127.0.0.1:9", "--candidate", poisoned.path, "--port", "0"])
        #expect(refused.status != 0 && refused.message.contains("tensor 'parameters' has nan"), "\(refused.message)")

        let (process, text) = try ServeProcessTests.launch(
            ["shadow", "--production", "http://127.0.0.1:9", "--candidate", good.path, "--host", "127.0.0.2", "--port", "0"], until: "listening")
        defer { if process.isRunning { process.terminate() } }
        let line = try #require(try JSONSerialization.jsonObject(with: Data(text.prefix { $0 != "\n" }.utf8)) as? [String: Any])
        let address = try #require(line["listening"] as? String)
        #expect(address.hasPrefix("http://127.0.0.2:"), "\(address)")
        #expect(try await Loopback.request(try #require(URL(string: address)).appendingPathComponent("health")).status == 200)
    }
}
