/// A row-major `rows × columns` matrix of doubles: scores `[n, C]` (one row per case, one column per
/// class) or multi-label labels `[n, C]` whose entries are 0, 1 or NaN (unknown).
/// Element `(r, c)` is `values[r · columns + c]`.
public struct DoubleMatrix: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    public let values: [Double]

    /// A matrix over row-major `values`; throws unless `values.count == rows · columns`.
    public init(rows: Int, columns: Int, values: [Double]) throws {
        guard rows >= 0, columns >= 0, values.count == rows * columns else {
            throw MetricsError.invalidShape(rows: rows, columns: columns, valueCount: values.count)
        }
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// A matrix from equally long rows; throws when a row's length differs from the first row's.
    public init(rowArrays: [[Double]]) throws {
        let columns = rowArrays.first?.count ?? 0
        for (index, row) in rowArrays.enumerated() where row.count != columns {
            throw MetricsError.lengthMismatch(what: "row \(index) of the matrix", expected: columns, actual: row.count)
        }
        try self.init(rows: rowArrays.count, columns: columns, values: rowArrays.flatMap { $0 })
    }

    /// Element `(row, column)`.
    public subscript(row: Int, column: Int) -> Double { values[row * columns + column] }

    /// The matrix made of the rows at `indices`, in that order (indices may repeat, as in a bootstrap resample).
    public func selectingRows(_ indices: [Int]) -> DoubleMatrix {
        var selected: [Double] = []
        selected.reserveCapacity(indices.count * columns)
        for row in indices { selected.append(contentsOf: values[row * columns..<(row + 1) * columns]) }
        return DoubleMatrix(unchecked: indices.count, columns, selected)
    }

    private init(unchecked rows: Int, _ columns: Int, _ values: [Double]) {
        self.rows = rows
        self.columns = columns
        self.values = values
    }
}
