import NumericCore

func randomMatrix(_ rows: Int, _ cols: Int, _ rng: inout RandomGenerator, scale: Float = 1) -> Matrix {
    var m = Matrix(rows: rows, cols: cols)
    for i in m.storage.indices { m.storage[i] = Float(rng.normal()) * scale }
    return m
}

/// |a − b| ≤ absolute + relative·max(|a|, |b|).
func close(_ a: Double, _ b: Double, absolute: Double = 0, relative: Double = 0) -> Bool {
    abs(a - b) <= absolute + relative * max(abs(a), abs(b))
}
