/// Where one named tensor lives inside a ``ParameterArena``.
public struct ParameterSlot: Sendable, Hashable, Codable {
    public let name: String
    public let rows: Int
    public let cols: Int
    public let offset: Int

    public var count: Int { rows * cols }
}

/// The list of named tensors a model needs, in order; offsets are assigned as tensors are added.
public struct ParameterLayout: Sendable, Hashable, Codable {
    public private(set) var slots: [ParameterSlot] = []
    public private(set) var count = 0

    public init() {}

    /// Reserves a `rows × cols` tensor and returns its slot.
    public mutating func add(_ name: String, rows: Int, cols: Int) -> ParameterSlot {
        precondition(!slots.contains { $0.name == name }, "Parameter \(name) is declared twice")
        let slot = ParameterSlot(name: name, rows: rows, cols: cols, offset: count)
        slots.append(slot)
        count += rows * cols
        return slot
    }

    public func slot(named name: String) -> ParameterSlot? {
        slots.first { $0.name == name }
    }
}

/// Every parameter of a model, and its gradient, in one contiguous allocation each (as llm.c
/// keeps them): an optimiser step is one loop over `values`/`gradients`, a checkpoint one write.
///
/// The arena is a reference type that owns raw memory; it is not safe to mutate from two threads
/// at once. Models share one arena by declaring all their tensors in one ``ParameterLayout``.
public final class ParameterArena {
    public let layout: ParameterLayout
    public let values: UnsafeMutableBufferPointer<Float>
    public let gradients: UnsafeMutableBufferPointer<Float>

    public init(layout: ParameterLayout) {
        self.layout = layout
        values = AlignedStorage.zeroed(layout.count)
        gradients = AlignedStorage.zeroed(layout.count)
    }

    deinit {
        values.deallocate()
        gradients.deallocate()
    }

    public var count: Int { layout.count }

    public func value(_ slot: ParameterSlot) -> MutableMatrixView {
        MutableMatrixView(base: values.baseAddress! + slot.offset, rows: slot.rows, cols: slot.cols)
    }

    public func gradient(_ slot: ParameterSlot) -> MutableMatrixView {
        MutableMatrixView(base: gradients.baseAddress! + slot.offset, rows: slot.rows, cols: slot.cols)
    }

    public func zeroGradients() {
        gradients.update(repeating: 0)
    }

    /// A copy of all values, for checkpoints and tests.
    public var valueArray: [Float] { Array(values) }

    public func load(values newValues: [Float]) {
        precondition(newValues.count == count, "Arena holds \(count) parameters, got \(newValues.count)")
        _ = values.update(fromContentsOf: newValues)
    }
}
