import ArgumentParser
import Foundation
import MLflow
import Tracking

/// `--mlflow URL`: the MLflow tracking server a run is exported to (experiment `rl_autotuner`).
struct MLflowOptions: ParsableArguments {
    @Option(help: "MLflow tracking server (e.g. http://127.0.0.1:5000): the run goes to experiment \(RunExport.experiment), once per run however often it is exported.")
    var mlflow: String?

    func validate() throws {
        guard let mlflow else { return }
        guard let url = URL(string: mlflow), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw ValidationError("--mlflow must be an http(s) URL of a tracking server, got '\(mlflow)'")
        }
    }

    func export(to store: RunStore) -> RunExport? {
        mlflow.flatMap(URL.init(string:)).map { RunExport(client: MLflowClient(server: $0), store: store) }
    }
}

extension RunExport.Result {
    /// Where to see the run in MLflow's UI.
    func link(_ server: String) -> String {
        "\(server.hasSuffix("/") ? String(server.dropLast()) : server)/#/experiments/\(experimentID)/runs/\(mlflowRunID)"
    }
}
