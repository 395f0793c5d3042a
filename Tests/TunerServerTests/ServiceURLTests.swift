import Foundation
import Testing

/// Every command that takes a service address refuses one it cannot call, naming the option,
/// before it listens or sends anything (an unparseable `--candidate-service` once sent the
/// candidate's traffic to production, and an unparseable `--production` crashed `tuner canary`).
@Suite struct ServiceURLTests {
    @Test(arguments: [
        (["canary", "--production", "%%", "--candidate", "c.ckpt", "--baseline", "b.ckpt"], "--production", "%%"),
        (["canary", "--production", "ftp://x", "--candidate", "c.ckpt", "--baseline", "b.ckpt"], "--production", "ftp://x"),
        (["canary", "--production", "http://127.0.0.1:9", "--candidate-service", "not a url", "--candidate", "c.ckpt", "--baseline", "b.ckpt"],
         "--candidate-service", "not a url"),
        (["shadow", "--production", "http://127.0.0.1:9", "--candidate-service", "http://", "--candidate", "c.ckpt"], "--candidate-service", "http://"),
        (["loadgen", "--target", "127.0.0.1:8080", "--evaluate-batch", "10", "--rps", "1", "--duration", "1"], "--target", "127.0.0.1:8080"),
        (["train", "--mode", "offline", "--evaluator", "file:///tmp/x"], "--evaluator", "file:///tmp/x"),
    ])
    func aBadServiceAddressIsRefusedByName(arguments: [String], option: String, value: String) throws {
        try #require(FileManager.default.isExecutableFile(atPath: ServeProcessTests.tuner.path), "no tuner binary at \(ServeProcessTests.tuner.path)")
        let (status, message) = try TrainProcessTests.refusal(arguments)
        #expect(status != 0)
        #expect(message.contains("\(option) must be an http(s) URL with a host") && message.contains("got '\(value)'"), "\(message)")
    }
}
