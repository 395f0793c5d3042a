import Foundation
import Testing
import TunerPolicy

@Suite struct AccessTokenTests {
    @Test func onlyTheExactTokenIsAdmitted() throws {
        let token = try AccessToken("0123456789abcdef-token")
        #expect(token.admits("0123456789abcdef-token"))
        for wrong in [nil, "", "0123456789abcdef-toke", "0123456789abcdef-tokens", "0123456789abcdef-tokeN", "x123456789abcdef-token"] {
            #expect(!token.admits(wrong), "\(wrong ?? "nil")")
        }
        #expect(!"\(token)".contains("0123456789"))
    }

    @Test func aShortOrUnprintableTokenAndAMissingFileAreRefused() throws {
        #expect(throws: AccessToken.Refusal.self) { try AccessToken("short") }
        #expect(throws: AccessToken.Refusal.self) { try AccessToken("has a space inside it") }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("token-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        let missing = #expect(throws: AccessToken.Refusal.self) { try AccessToken(contentsOf: file) }
        #expect(missing?.description.contains(file.path) == true)
        try Data("0123456789abcdef\n".utf8).write(to: file)
        #expect(try AccessToken(contentsOf: file).admits("0123456789abcdef"))
    }
}
