import ArgumentParser

/// `--json`, shared by every command that prints results: machine-readable output in place of
/// the tables (one object; `tuner rsi run` prints one per cycle).
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON instead of tables: one object (one per cycle for `tuner rsi run`).")
    var json = false
}
