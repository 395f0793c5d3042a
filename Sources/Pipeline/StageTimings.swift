import Foundation
import NumericCore

/// Measured stage times of questions, by question id, as an ``EvaluationCache`` charges them.
///
/// Latency is partly measured (the pipeline's own stages), so two caches built from the same
/// questions charge slightly different latencies, and near a latency gate that decides breaches:
/// two runs with one seed would differ. A run keeps the times it charged (`stage-times.json`);
/// handing them to a new cache makes it charge exactly those, so a resumed run continues with the
/// latencies it started with and a repeated run reproduces its original.
public struct StageTimings: Codable, Sendable, Equatable {
    /// One question's measured times, milliseconds.
    public struct Question: Codable, Sendable, Equatable {
        public var lexical: Double
        public var dense: Double
        public var fusion: Double
        public var rerank: Double
        /// The answer step's time per context passage (charged × the passages a configuration keeps).
        public var answerPerPassage: Double

        public init(lexical: Double, dense: Double, fusion: Double, rerank: Double, answerPerPassage: Double) {
            self.lexical = lexical
            self.dense = dense
            self.fusion = fusion
            self.rerank = rerank
            self.answerPerPassage = answerPerPassage
        }

        enum CodingKeys: String, CodingKey {
            case lexical, dense, fusion, rerank
            case answerPerPassage = "answer_per_passage"
        }

        /// The times charged for a context of `passages` passages.
        func stageTimes(passages: Int) -> StageTimes {
            var times = StageTimes()
            times.lexical = lexical
            times.dense = dense
            times.fusion = fusion
            times.rerank = rerank
            times.answer = answerPerPassage * Double(passages)
            return times
        }

        var fields: [(name: String, value: Double)] {
            [("lexical", lexical), ("dense", dense), ("fusion", fusion), ("rerank", rerank), ("answer_per_passage", answerPerPassage)]
        }
    }

    public static let version = 1
    public var version = StageTimings.version
    public var questions: [String: Question]

    public init(questions: [String: Question] = [:]) {
        self.questions = questions
    }

    public struct ReadError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// Reads and validates a stage-times file: the format version, and every time finite and ≥ 0.
    public static func read(from url: URL) throws -> StageTimings {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ReadError(path: url.path, reason: "cannot read the stage times (\(error.localizedDescription))")
        }
        let timings: StageTimings
        do {
            timings = try JSONDecoder().decode(StageTimings.self, from: data)
        } catch {
            throw ReadError(path: url.path, reason: "not a stage-times file: \(error)")
        }
        guard timings.version == version else {
            throw ReadError(path: url.path, reason: "stage-times version \(timings.version), this build reads \(version)")
        }
        for (id, question) in timings.questions.sorted(by: { $0.key < $1.key }) {
            for field in question.fields where !(field.value.isFinite && field.value >= 0) {
                throw ReadError(path: url.path, reason: "question '\(id)': \(field.name) is \(field.value), expected a finite number of milliseconds ≥ 0")
            }
        }
        return timings
    }

    /// Writes atomically (temporary file, fsync, rename), keys sorted.
    public func write(to url: URL) throws {
        try AtomicFile.write(JSONEncoder.sorted.encode(self), to: url)
    }

    /// These times with `other`'s added (other's win where both have a question).
    public func merging(_ other: StageTimings) -> StageTimings {
        StageTimings(questions: questions.merging(other.questions) { _, new in new })
    }
}
