import Foundation
import NumericCore

/// Precomputed, L2-normalised embeddings of the corpus and the queries, rows aligned with the
/// dataset's documents and queries (so cosine similarity is a dot product).
public struct Embeddings: Sendable {
    public var model: String
    public var dimension: Int
    public var documents: Matrix
    public var queries: Matrix

    public init(model: String, dimension: Int, documents: Matrix, queries: Matrix) {
        self.model = model
        self.dimension = dimension
        self.documents = documents
        self.queries = queries
    }

    /// Reads `embeddings/<model>/` (meta.json with `dim`, corpus.f32 / queries.f32 row-major
    /// little-endian float32, corpus.ids / queries.ids) and reorders rows to the dataset's order.
    /// Rows whose id is not in the dataset are counted in `unresolved`; a dataset row without an
    /// embedding is an error.
    static func load(
        folder: URL, model: String, documentIDs: [String: Int], queryIDs: [String: Int],
        unresolved: inout [String]
    ) throws -> Embeddings {
        let metaURL = folder.appendingPathComponent("meta.json")
        guard let metaData = FileManager.default.contents(atPath: metaURL.path) else {
            throw DatasetError.missingFile(metaURL.path)
        }
        struct Meta: Decodable { var dim: Int }
        let meta: Meta
        do { meta = try JSONDecoder().decode(Meta.self, from: metaData) } catch {
            throw DatasetError.embeddings(file: metaURL.path, reason: "no integer field 'dim' (\(error))")
        }
        let documents = try matrix(folder: folder, name: "corpus", dimension: meta.dim, ids: documentIDs, unresolved: &unresolved)
        let queries = try matrix(folder: folder, name: "queries", dimension: meta.dim, ids: queryIDs, unresolved: &unresolved)
        return Embeddings(model: model, dimension: meta.dim, documents: documents, queries: queries)
    }

    private static func matrix(
        folder: URL, name: String, dimension: Int, ids: [String: Int], unresolved: inout [String]
    ) throws -> Matrix {
        let idsURL = folder.appendingPathComponent("\(name).ids")
        let dataURL = folder.appendingPathComponent("\(name).f32")
        guard let idText = try? String(contentsOf: idsURL, encoding: .utf8) else {
            throw DatasetError.missingFile(idsURL.path)
        }
        guard let data = FileManager.default.contents(atPath: dataURL.path) else {
            throw DatasetError.missingFile(dataURL.path)
        }
        let rowIDs = idText.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        let expectedBytes = rowIDs.count * dimension * MemoryLayout<Float>.size
        guard data.count == expectedBytes else {
            throw DatasetError.embeddings(
                file: dataURL.path,
                reason: "\(data.count) bytes, expected \(rowIDs.count) rows × \(dimension) floats = \(expectedBytes)")
        }
        var result = Matrix(rows: ids.count, cols: dimension)
        var filled = [Bool](repeating: false, count: ids.count)
        data.withUnsafeBytes { raw in
            for (row, id) in rowIDs.enumerated() {
                guard let target = ids[id] else { unresolved.append("\(name).ids: \(id)"); continue }
                filled[target] = true
                for c in 0..<dimension {
                    let bits = raw.loadUnaligned(fromByteOffset: (row * dimension + c) * 4, as: UInt32.self)
                    result[target, c] = Float(bitPattern: UInt32(littleEndian: bits))
                }
            }
        }
        if let missing = filled.firstIndex(of: false) {
            let id = ids.first { $0.value == missing }!.key
            throw DatasetError.embeddings(file: idsURL.path, reason: "no embedding for id '\(id)'")
        }
        return result
    }
}
