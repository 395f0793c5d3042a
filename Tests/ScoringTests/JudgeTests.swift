import Foundation
import Scoring
import Testing

@Suite struct JudgeTests {
    static func request(answer: String = "Denver Broncos won", gold: [String] = []) -> JudgeRequest {
        JudgeRequest(
            question: "who won?", contexts: ["a", "b", "c"], answer: answer, contextGradesByRank: [0, 2, 1],
            answerSourceGrade: 2, relevantCount: 4, relevantTotalGrade: 8, relevantMaxGrade: 4, goldAnswers: gold)
    }

    /// Relevancy = ½·(3/8) + ½·AP with hits at ranks 2 and 3: (1/2 + 2/3)/min(3, 4).
    @Test func goldJudgeComputesTheDocumentedFormulas() async throws {
        let scores = try await GoldJudge().score([Self.request(), Self.request(gold: ["Denver Broncos"]), Self.request(answer: "", gold: ["Denver Broncos"])])
        let relevancy = 0.5 * 3.0 / 8 + 0.5 * (0.5 + 2.0 / 3) / 3
        #expect(abs(scores[0].relevancy - relevancy) < 1e-12)
        #expect(scores[0].faithfulness == 0.5)
        #expect(scores[1].faithfulness == 0.5 * 0.5 + 0.5 * 1)
        #expect(scores[2].faithfulness == 0.25)
    }

    @Test func answerOverlapUsesSQuADNormalisation() {
        #expect(AnswerOverlap.normalizedTokens("The Denver Broncos, in 2016!") == ["denver", "broncos", "in", "2016"])
        #expect(AnswerOverlap.f1(answer: "the Denver Broncos", gold: ["Broncos", "Denver Broncos"]) == 1)
        #expect(abs(AnswerOverlap.f1(answer: "Denver won the game", gold: ["Denver Broncos"]) - 2 * (1.0 / 3) * 0.5 / (1.0 / 3 + 0.5)) < 1e-12)
        #expect(AnswerOverlap.recall(answer: "Denver won the game", gold: ["Denver Broncos"]) == 0.5)
        #expect(AnswerOverlap.recall(answer: "anything", gold: []) == 0)
    }

    @Test func httpJudgeSendsTheBatchAndReadsScores() async throws {
        let server = try ScriptedHTTPServer([.init(status: 200, body: #"{"scores": [{"faithfulness": 0.9, "relevancy": 0.25}]}"#)])
        defer { server.stop() }
        let scores = try await HTTPJudge(url: server.url).score([Self.request()])
        #expect(scores == [JudgeScores(faithfulness: 0.9, relevancy: 0.25)])
        let sent = try JSONSerialization.jsonObject(with: Data(server.requestBodies[0].utf8)) as! [String: Any]
        let item = (sent["items"] as! [[String: Any]])[0]
        #expect(item["question"] as? String == "who won?" && (item["contexts"] as? [String])?.count == 3)
    }

    @Test func httpJudgeRetriesServerErrorsAndGivesUpAfterTheLimit() async throws {
        let flaky = try ScriptedHTTPServer([
            .init(status: 503, body: "busy"), .init(status: 200, body: #"{"scores": [{"faithfulness": 1, "relevancy": 1}]}"#),
        ])
        defer { flaky.stop() }
        let judge = HTTPJudge(url: flaky.url, maxAttempts: 3, initialBackoff: 0.01)
        #expect(try await judge.score([Self.request()]) == [JudgeScores(faithfulness: 1, relevancy: 1)])
        #expect(flaky.requestBodies.count == 2)

        let down = try ScriptedHTTPServer(Array(repeating: .init(status: 500, body: "down"), count: 3))
        defer { down.stop() }
        await #expect(throws: JSONPost.Failure.status(peer: "judge", code: 500, body: "down")) {
            try await HTTPJudge(url: down.url, maxAttempts: 2, initialBackoff: 0.01).score([Self.request()])
        }
        #expect(down.requestBodies.count == 2)

        let refusing = try ScriptedHTTPServer([.init(status: 400, body: "bad request")])
        defer { refusing.stop() }
        await #expect(throws: JSONPost.Failure.status(peer: "judge", code: 400, body: "bad request")) {
            try await HTTPJudge(url: refusing.url, initialBackoff: 0.01).score([Self.request()])
        }
        #expect(refusing.requestBodies.count == 1, "a client error is not retried")
    }

    @Test(arguments: [
        (#"{"scores": [{"faithfulness": null, "relevancy": 0.5}]}"#, HTTPJudge.Failure.invalidScore(item: 0, field: "faithfulness", value: "null")),
        (#"{"scores": [{"faithfulness": 0.5, "relevancy": 1.5}]}"#, HTTPJudge.Failure.invalidScore(item: 0, field: "relevancy", value: "1.5")),
        (#"{"scores": [{"faithfulness": 0.5}]}"#, HTTPJudge.Failure.invalidScore(item: 0, field: "relevancy", value: "missing")),
        (#"{"scores": []}"#, HTTPJudge.Failure.malformed("0 scores for 1 items")),
        (#"{"scores": [{"faithfulness": "high", "relevancy": 0.5}]}"#, HTTPJudge.Failure.invalidScore(item: 0, field: "faithfulness", value: "not a number")),
        ("NaN", HTTPJudge.Failure.malformed("not valid JSON")),
    ])
    func httpJudgeRefusesInvalidScores(body: String, failure: HTTPJudge.Failure) async throws {
        let server = try ScriptedHTTPServer([.init(status: 200, body: body)])
        defer { server.stop() }
        await #expect(throws: failure) { try await HTTPJudge(url: server.url).score([Self.request()]) }
    }

    @Test func httpJudgeTimesOutAndLimitsResponseSize() async throws {
        // The server answers after 10 s (with a body the judge would refuse as malformed); a
        // 0.5 s timeout must give up first, as a transport failure. Wall time is not asserted:
        // under a full parallel test run the continuation can wait for a free thread.
        let slow = try ScriptedHTTPServer([.init(status: 200, body: "{}", delay: 10)])
        defer { slow.stop() }
        do {
            _ = try await HTTPJudge(url: slow.url, timeout: 0.5, maxAttempts: 1).score([Self.request()])
            Issue.record("a silent server was not timed out")
        } catch let failure as JSONPost.Failure {
            guard case .transport = failure else { Issue.record("expected a timeout, got \(failure)"); return }
        }

        let large = try ScriptedHTTPServer([.init(status: 200, body: String(repeating: " ", count: 5000) + "{}")])
        defer { large.stop() }
        await #expect(throws: JSONPost.Failure.responseTooLarge(peer: "judge", bytes: 5002, limit: 1000)) {
            try await HTTPJudge(url: large.url, maxResponseBytes: 1000).score([Self.request()])
        }
    }
}
