import Foundation

/// Monotonic seconds.
public func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

public func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// Runs `body` `iterations` times per repeat and returns the median seconds per iteration.
public func measure(repeats: Int, iterations: Int, _ body: () -> Void) -> Double {
    for _ in 0..<max(1, iterations / 10) { body() }  // warm-up
    var times: [Double] = []
    for _ in 0..<repeats {
        let start = now()
        for _ in 0..<iterations { body() }
        times.append((now() - start) / Double(iterations))
    }
    return median(times)
}
