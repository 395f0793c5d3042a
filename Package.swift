// swift-tools-version: 6.1
import PackageDescription

import class Foundation.ProcessInfo

// Benchmarks are built only on demand (`RAGTUNER_BENCHMARKS=1 swift run -c release ...`),
// so the default build and CI never compile them.
let withBenchmarks = ProcessInfo.processInfo.environment["RAGTUNER_BENCHMARKS"] != nil

var package = Package(
    name: "RAGTuner",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tuner", targets: ["TunerCLI"]),
        .library(name: "NumericCore", targets: ["NumericCore"]),
        .library(name: "TunerPolicy", targets: ["TunerPolicy"]),
        .library(name: "PPO", targets: ["PPO"]),
        .library(name: "ConfigurationFiles", targets: ["ConfigurationFiles"]),
        .library(name: "Retrieval", targets: ["Retrieval"]),
        .library(name: "Scoring", targets: ["Scoring"]),
        .library(name: "Statistics", targets: ["Statistics"]),
        .library(name: "Pipeline", targets: ["Pipeline"]),
        .library(name: "Tuning", targets: ["Tuning"]),
        .library(name: "Tracking", targets: ["Tracking"]),
        .library(name: "Evaluators", targets: ["Evaluators"]),
        .library(name: "TrainingRuns", targets: ["TrainingRuns"]),
        .library(name: "Reports", targets: ["Reports"]),
        .library(name: "MLflow", targets: ["MLflow"]),
        .library(name: "RSI", targets: ["RSI"]),
        .library(name: "TunerServer", targets: ["TunerServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
    ],
    targets: [
        .systemLibrary(name: "CBLASLAPACK", path: "Sources/CBLASLAPACK"),
        .target(name: "CNumericKernels"),
        .target(name: "NumericCore", dependencies: ["CBLASLAPACK", "CNumericKernels"]),
        .target(name: "TunerPolicy", dependencies: ["NumericCore"]),
        .target(name: "PPO", dependencies: ["TunerPolicy", "NumericCore"]),
        .target(name: "ConfigurationFiles", dependencies: ["Yams"]),
        .target(name: "Retrieval", dependencies: ["ConfigurationFiles", "NumericCore"]),
        .target(name: "Scoring", dependencies: ["ConfigurationFiles", "TunerPolicy", "NumericCore"]),
        .target(name: "Statistics", dependencies: ["NumericCore"]),
        .target(name: "Pipeline", dependencies: ["Retrieval", "Scoring", "ConfigurationFiles", "TunerPolicy", "NumericCore"]),
        .target(name: "Tuning", dependencies: ["Pipeline", "PPO", "Retrieval", "Scoring", "Statistics", "TunerPolicy", "NumericCore"]),
        .target(
            name: "Tracking",
            dependencies: [
                "Evaluators", "Statistics", "TunerPolicy", "NumericCore",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "TrainingRuns",
            dependencies: ["Tracking", "Evaluators", "Tuning", "Pipeline", "Retrieval", "Statistics", "PPO", "TunerPolicy", "NumericCore"]
        ),
        .target(name: "Reports", dependencies: ["TrainingRuns", "Evaluators", "Tracking"]),
        .target(name: "MLflow", dependencies: ["TrainingRuns", "Tracking", "Scoring"]),
        .target(
            name: "RSI",
            dependencies: [
                "TrainingRuns", "Evaluators", "Tuning", "Pipeline", "PPO", "TunerPolicy", "Scoring", "ConfigurationFiles", "Statistics", "Retrieval",
                "NumericCore", "Tracking",
            ]
        ),
        .target(
            name: "Evaluators", dependencies: ["Tuning", "Pipeline", "Scoring", "ConfigurationFiles", "Statistics", "TunerPolicy", "PPO", "NumericCore"]
        ),
        .target(
            name: "TunerServer",
            dependencies: [
                "RSI", "Evaluators", "Pipeline", "TunerPolicy", "Scoring", "Retrieval", "NumericCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .executableTarget(
            name: "TunerCLI",
            dependencies: [
                "NumericCore",
                "PPO",
                "TunerPolicy",
                "Retrieval",
                "Scoring",
                "Statistics",
                "Pipeline",
                "Tuning",
                "Tracking",
                "TrainingRuns",
                "Reports",
                "MLflow",
                "Evaluators",
                "TunerServer",
                "RSI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The example service of Examples/PolicyService: a RAG service importing the policy module.
        .target(
            name: "PolicyServiceExample",
            dependencies: [
                "TunerPolicy", "Pipeline", "Retrieval", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
            ],
            path: "Examples/PolicyService/Sources/PolicyServiceExample"
        ),
        .executableTarget(
            name: "policy-service",
            dependencies: [
                "PolicyServiceExample", "TunerPolicy", "Pipeline", "Retrieval", "NumericCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Examples/PolicyService/Sources/policy-service"
        ),
        .testTarget(
            name: "PolicyServiceExampleTests",
            dependencies: [
                "PolicyServiceExample", "TunerPolicy", "Pipeline", "Tuning", "Retrieval", "NumericCore",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Examples/PolicyService/Tests/PolicyServiceExampleTests"
        ),
        .testTarget(
            name: "TunerServerTests",
            dependencies: [
                "TunerServer", "RSI", "Evaluators", "Tuning", "Pipeline", "TunerPolicy", "Scoring", "Statistics", "Retrieval", "NumericCore", "Yams",
                "Tracking", "TunerCLI",  // built for the process tests, which run the tuner binary
                .product(name: "GRDB", package: "GRDB.swift"),  // the audit process test tampers with a store as an attacker would
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "NumericCoreTests", dependencies: ["NumericCore"]),
        .testTarget(name: "TunerPolicyTests", dependencies: ["TunerPolicy", "NumericCore"]),
        .testTarget(name: "PPOTests", dependencies: ["PPO", "TunerPolicy", "NumericCore"]),
        .testTarget(name: "RetrievalTests", dependencies: ["Retrieval", "Scoring", "NumericCore"]),
        .testTarget(name: "ScoringTests", dependencies: ["Scoring", "ConfigurationFiles", "NumericCore"]),
        // The fixtures are read from the source tree (#filePath), not bundled.
        .testTarget(name: "StatisticsTests", dependencies: ["Statistics", "NumericCore"], exclude: ["Fixtures"]),
        .testTarget(name: "TrackingTests", dependencies: ["Tracking", "TunerPolicy", "NumericCore", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(
            name: "TrainingRunsTests",
            dependencies: ["TrainingRuns", "Reports", "MLflow", "Evaluators", "Tracking", "Tuning", "Pipeline", "Retrieval", "TunerPolicy", "NumericCore"],
            exclude: ["Fixtures"]
        ),
        .testTarget(name: "RSITests", dependencies: ["RSI", "Evaluators", "Tracking", "Tuning", "Pipeline", "PPO", "TunerPolicy", "Scoring", "Statistics", "Retrieval", "NumericCore"]),
        .testTarget(
            name: "TuningTests",
            dependencies: ["Tuning", "Pipeline", "Retrieval", "Scoring", "Statistics", "TunerPolicy", "PPO", "NumericCore"]
        ),
    ]
)

if withBenchmarks {
    // Counts allocations by interposing malloc (the library behind ordo-one/benchmark's malloc
    // metrics); run the benchmark with LD_PRELOAD=.build/release/libMallocInterposerSwift.so.
    package.dependencies += [.package(url: "https://github.com/ordo-one/malloc-interposer.git", from: "1.6.1")]
    package.targets += [
        .executableTarget(
            name: "PolicyDecisionBenchmarks",
            dependencies: ["Tuning", "Pipeline", "TunerPolicy", .product(name: "MallocInterposerSwift", package: "malloc-interposer")],
            path: "Benchmarks/PolicyDecisionBenchmarks"
        ),
        .target(name: "BenchmarkSupport", path: "Benchmarks/BenchmarkSupport"),
        .executableTarget(
            name: "NumericCoreBenchmarks",
            dependencies: ["NumericCore", "BenchmarkSupport"],
            path: "Benchmarks/NumericCoreBenchmarks"
        ),
        .executableTarget(
            name: "EvaluationCacheBenchmarks",
            dependencies: ["Pipeline", "Scoring", "NumericCore", "BenchmarkSupport"],
            path: "Benchmarks/EvaluationCacheBenchmarks"
        ),
        .executableTarget(
            name: "StatisticsBenchmarks",
            dependencies: ["Statistics", "NumericCore", "BenchmarkSupport"],
            path: "Benchmarks/StatisticsBenchmarks"
        ),
    ]
}

// The parser fuzzer (Benchmarks/Fuzz/run.sh): built only when asked, with `--sanitize fuzzer`.
// libFuzzer supplies `main`, so the target is compiled as a library.
if ProcessInfo.processInfo.environment["RAGTUNER_FUZZ"] != nil {
    package.targets += [
        .executableTarget(
            name: "ParserFuzzer",
            dependencies: ["Evaluators", "Tuning", "Pipeline", "Retrieval", "Scoring", "TunerPolicy", "NumericCore"],
            path: "Benchmarks/Fuzz/ParserFuzzer",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    ]
}
