import Retrieval
import Testing

@Suite struct TextAnalysisTests {
    /// Pairs from Porter's paper and his reference vocabulary, one or more per rule.
    @Test(arguments: [
        ("caresses", "caress"), ("ponies", "poni"), ("ties", "ti"), ("caress", "caress"), ("cats", "cat"),
        ("feed", "feed"), ("agreed", "agre"), ("plastered", "plaster"), ("bled", "bled"), ("motoring", "motor"),
        ("sing", "sing"), ("conflated", "conflat"), ("troubled", "troubl"), ("sized", "size"), ("hopping", "hop"),
        ("tanned", "tan"), ("falling", "fall"), ("hissing", "hiss"), ("fizzed", "fizz"), ("failing", "fail"),
        ("filing", "file"), ("happy", "happi"), ("sky", "sky"), ("relational", "relat"), ("conditional", "condit"),
        ("rational", "ration"), ("valenci", "valenc"), ("hesitanci", "hesit"), ("digitizer", "digit"),
        ("conformabli", "conform"), ("radicalli", "radic"), ("differentli", "differ"), ("vileli", "vile"),
        ("analogousli", "analog"), ("vietnamization", "vietnam"), ("predication", "predic"), ("operator", "oper"),
        ("feudalism", "feudal"), ("decisiveness", "decis"), ("hopefulness", "hope"), ("callousness", "callous"),
        ("formaliti", "formal"), ("sensitiviti", "sensit"), ("sensibiliti", "sensibl"), ("triplicate", "triplic"),
        ("formative", "form"), ("formalize", "formal"), ("electriciti", "electr"), ("electrical", "electr"),
        ("hopeful", "hope"), ("goodness", "good"), ("revival", "reviv"), ("allowance", "allow"), ("inference", "infer"),
        ("airliner", "airlin"), ("gyroscopic", "gyroscop"), ("adjustable", "adjust"), ("defensible", "defens"),
        ("irritant", "irrit"), ("replacement", "replac"), ("adjustment", "adjust"), ("dependent", "depend"),
        ("adoption", "adopt"), ("homologou", "homolog"), ("communism", "commun"), ("activate", "activ"),
        ("angulariti", "angular"), ("homologous", "homolog"), ("effective", "effect"), ("bowdlerize", "bowdler"),
        ("probate", "probat"), ("rate", "rate"), ("cease", "ceas"), ("controll", "control"), ("roll", "roll"),
        ("generalizations", "gener"), ("oscillators", "oscil"), ("archaeology", "archaeolog"), ("is", "is"),
    ])
    func porterStemmerMatchesTheReference(word: String, stem: String) {
        #expect(PorterStemmer.stem(word) == stem)
    }

    @Test func tokenizerKeepsNumbersInitialsAndContractionsTogether() {
        #expect(Analyzer.tokens("The patient's U.S. trial: 1.5 mg, 10,000 cells; don't—IL-6") ==
            ["the", "patient's", "u.s", "trial", "1.5", "mg", "10,000", "cells", "don't", "il", "6"])
        #expect(Analyzer.tokens("Ärzte über Zürich") == ["ärzte", "über", "zürich"])
    }

    @Test func analyzerDropsStopWordsAndPossessivesAndStems() {
        #expect(Analyzer().terms("The patient's cells were dividing into the tissues") == ["patient", "cell", "were", "divid", "tissu"])
        #expect(Analyzer(removesStopWords: false, stems: false).terms("The cells") == ["the", "cells"])
    }

    @Test func sentencesSplitAtFullStopsButNotAfterAbbreviations() {
        let text = "Cells were counted (Fig. 2). Results e.g. rates rose by 2.5 percent! Dr. Smith agreed? Yes. J. Doe et al. found more"
        #expect(SentenceSplitter.split(text).map(String.init) == [
            "Cells were counted (Fig. 2).", "Results e.g. rates rose by 2.5 percent!", "Dr. Smith agreed?", "Yes.",
            "J. Doe et al. found more",
        ])
    }
}
