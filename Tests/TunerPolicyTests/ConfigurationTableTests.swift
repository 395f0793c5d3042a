import Foundation
import NumericCore
import Testing
import TunerPolicy

/// The table a run over a service's own knobs deploys: it survives its file, serves each
/// category its row and an unseen category the service's defaults, and refuses a row its
/// declaration does not accept or bytes that are not the ones written.
@Suite struct ConfigurationTableTests {
    static let knobs = try! JSONDecoder().decode(KnobDeclaration.self, from: Data(#"""
        [{"name": "answer_model", "kind": "categorical", "choices": ["small", "large"], "default": "small"},
         {"name": "top_k", "kind": "integer", "min": 1, "max": 10, "grid": [1, 3, 5, 8], "default": 3},
         {"name": "temperature", "kind": "continuous", "min": 0, "max": 1, "default": 0.2, "when": {"knob": "answer_model", "values": ["large"]}},
         {"name": "rewrite_query", "kind": "bernoulli", "default": true}]
        """#.utf8))

    static func configuration(_ model: String, _ k: Int, _ temperature: Double, _ rewrite: Bool) -> Configuration {
        Configuration(["answer_model": .text(model), "top_k": .integer(k), "temperature": .number(temperature), "rewrite_query": .flag(rewrite)])
    }

    @Test func aTableServesItsRowsAndSurvivesItsFile() throws {
        let short = Self.configuration("large", 5, 0.7, false), long = Self.configuration("small", 8, 0.2, true)
        let table = try ConfigurationTable(knobs: Self.knobs, categories: ["short": short, "long": long], unseen: Self.knobs.defaults)
        #expect(table.decide(category: "short") == short && table.decide(category: "long") == long)
        #expect(table.decide(category: "never-seen") == Self.configuration("small", 3, 0.2, true))

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("table-\(UUID().uuidString).ckpt")
        defer { try? FileManager.default.removeItem(at: file) }
        try table.write(to: file)
        #expect(try ConfigurationTable.isTable(at: file))
        let read = try ConfigurationTable(contentsOf: file)
        #expect(read.knobs == Self.knobs && read.categories == table.categories && read.unseen == table.unseen && read.version == table.version)
        #expect(read.version.count == 16)

        // One flipped byte is a checksum error, not a different table.
        var bytes = try Data(contentsOf: file)
        bytes[bytes.count / 2] ^= 0x20
        #expect(throws: TensorArchive.ReadError.self) { try ConfigurationTable(bytes: bytes) }
    }

    @Test func rowsTheDeclarationRefusesAreRefusedNamingTheCategory() throws {
        for (row, message) in [
            (Self.configuration("medium", 5, 0.2, true), "category 'short' is served"),
            (Self.configuration("small", 11, 0.2, true), "knob 'top_k' is 11"),
            // The temperature does not apply to the small model: served as anything but its
            // default it would be a configuration the search never evaluated.
            (Self.configuration("small", 5, 0.9, true), "leaves out or misstates a knob"),
            (Configuration(["answer_model": .text("small")]), "leaves out or misstates a knob"),
        ] {
            let error = #expect(throws: ConfigurationTable.LoadError.self) {
                try ConfigurationTable(knobs: Self.knobs, categories: ["short": row], unseen: Self.knobs.defaults)
            }
            let text = error.map(String.init(describing:)) ?? ""
            #expect(text.contains(message) && text.contains("category 'short'"), "\(text)")
        }
    }

    /// A declaration read from a file a server loads (a table, a checkpoint's knobs) whose integer
    /// range has more values than an Int counts is refused; counting it once trapped the process.
    @Test func aRangeTooWideToCountIsRefused() throws {
        let wide = Data(#"[{"name": "seed", "kind": "integer", "min": -9223372036854775808, "max": 9223372036854775807, "default": 0}]"#.utf8)
        let error = #expect(throws: KnobProblem.self) { try JSONDecoder().decode(KnobDeclaration.self, from: wide) }
        #expect(error?.field == "max" && error?.reason.contains("an integer needs 2 to") == true, "\(String(describing: error))")
    }

    /// JSON has one number type: a whole real and an integer of the same value are one value.
    @Test func wholeRealsAndIntegersAreOneValue() throws {
        #expect(KnobValue.number(1) == .integer(1) && Set([KnobValue.number(3), .integer(3)]).count == 1)
        #expect(KnobValue.number(0.5) != .integer(0) && KnobValue.text("1") != .integer(1) && KnobValue.flag(true) != .integer(1))
        let decoded = try JSONDecoder().decode(Configuration.self, from: Data(#"{"temperature": 1.0, "top_k": 3}"#.utf8))
        #expect(decoded == Configuration(["temperature": .number(1), "top_k": .integer(3)]))
    }
}
