import ArgumentParser
import NumericCore

enum TunerVersion {
    static let current = "0.1.0"
}

extension Tuner {
    struct Version: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the version and the BLAS build in use.")

        func run() {
            print("tuner \(TunerVersion.current)")
            print("blas: \(BLAS.configuration) threads=\(BLAS.threads)")
        }
    }
}
