import Foundation
import NumericCore
import TunerPolicy

/// Everything a run needs to continue as if it had never stopped: weights, Adam moments and
/// step, the update and step counters, the learning rate (which KL adaptation moves), the
/// observation and return statistics, every random stream, and each environment's state and
/// current observation. Saved at an update boundary as a ``TensorArchive`` of kind "ppo-trainer".
extension PPOTrainer {
    public static var checkpointKind: String { "ppo-trainer" }
    public static var checkpointVersion: Int { 1 }

    struct State: Codable {
        var configuration: PPOConfiguration
        var architecture: PolicyArchitecture
        var update: Int
        var globalStep: Int
        var learningRate: Float
        var adamStep: Int
        var normalizer: RunningNormalizer
        var returnNormalizer: RunningNormalizer
        var environmentValues: [[Double]]
        var observations: [Float]
        var episodeReturns: [Double]
        var discountedReturns: [Double]
    }

    public func saveCheckpoint(to url: URL) throws {
        let state = State(
            configuration: configuration, architecture: network.architecture, update: update, globalStep: globalStep,
            learningRate: learningRate, adamStep: adam.step, normalizer: normalizer, returnNormalizer: returnNormalizer,
            environmentValues: environments.map(\.snapshot.values), observations: observations.storage,
            episodeReturns: episodeReturns, discountedReturns: discountedReturns)
        var words: [String: [UInt64]] = ["rng": rng.stateWords]
        for (e, environment) in environments.enumerated() { words["environment.\(e)"] = environment.snapshot.words }
        try TensorArchive(
            kind: Self.checkpointKind, kindVersion: Self.checkpointVersion, metadata: try JSONEncoder.sorted.encode(state),
            floats: ["parameters": network.arena.valueArray, "adam.m": adam.firstMoment, "adam.v": adam.secondMoment],
            words: words
        ).write(to: url)
    }

    /// A checkpoint written before a configuration field existed: the field takes its default.
    static func withConfigurationDefaults(_ metadata: Data) throws -> Data {
        var object = try JSONSerialization.jsonObject(with: metadata) as? [String: Any] ?? [:]
        var configuration = try JSONSerialization.jsonObject(with: JSONEncoder().encode(PPOConfiguration())) as? [String: Any] ?? [:]
        configuration.merge(object["configuration"] as? [String: Any] ?? [:]) { _, stored in stored }
        object["configuration"] = configuration
        return try JSONSerialization.data(withJSONObject: object)
    }

    /// Rebuilds a trainer from `saveCheckpoint`; `makeEnvironment` must build the same kind of
    /// environment the run used (their state is then restored from the file).
    public static func resume(from url: URL, makeEnvironment: @escaping (Int) -> E) throws -> PPOTrainer<E> {
        let archive = try TensorArchive.read(from: url, expecting: checkpointKind, version: checkpointVersion)
        let state: State
        do {
            state = try JSONDecoder().decode(State.self, from: archive.metadata)
        } catch DecodingError.keyNotFound(_, let context) where context.codingPath.first?.stringValue == "configuration" {
            do {
                state = try JSONDecoder().decode(State.self, from: withConfigurationDefaults(archive.metadata))
            } catch {
                throw PPOError.incompatibleCheckpoint("\(url.path): trainer state unreadable: \(error)")
            }
        } catch {
            throw PPOError.incompatibleCheckpoint("\(url.path): trainer state unreadable: \(error)")
        }
        let trainer = try PPOTrainer(configuration: state.configuration, makeEnvironment: makeEnvironment)
        guard trainer.network.architecture == state.architecture else {
            throw PPOError.incompatibleCheckpoint("\(url.path) was written for another environment or network")
        }
        trainer.network.arena.load(values: try archive.floats("parameters", path: url.path))
        trainer.adam = AdamOptimizer(
            beta1: trainer.adam.beta1, beta2: trainer.adam.beta2, epsilon: trainer.adam.epsilon,
            firstMoment: try archive.floats("adam.m", path: url.path), secondMoment: try archive.floats("adam.v", path: url.path),
            step: state.adamStep)
        trainer.update = state.update
        trainer.globalStep = state.globalStep
        trainer.learningRate = state.learningRate
        trainer.normalizer = state.normalizer
        trainer.returnNormalizer = state.returnNormalizer
        guard let rngWords = archive.words["rng"] else { throw TensorArchive.ReadError.missingTensor(path: url.path, name: "rng") }
        trainer.rng = RandomGenerator(state: rngWords)
        for e in trainer.environments.indices {
            guard let words = archive.words["environment.\(e)"] else {
                throw TensorArchive.ReadError.missingTensor(path: url.path, name: "environment.\(e)")
            }
            trainer.environments[e].restore(EnvironmentSnapshot(values: state.environmentValues[e], words: words))
        }
        trainer.observations = Matrix(rows: trainer.observations.rows, cols: trainer.observations.cols, storage: state.observations)
        trainer.episodeReturns = state.episodeReturns
        trainer.discountedReturns = state.discountedReturns
        return trainer
    }
}
