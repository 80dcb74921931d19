import Randomness

/// What a bootstrap resample draws with replacement: single rows, or patients, each drawn patient
/// bringing all of its rows (so that correlated rows of one patient stay together).
/// A resample draws `P` units by `integer(below: P)` and lists the rows of each drawn unit, units in
/// draw order, a patient's rows in their original order. Patients are numbered by first appearance.
public struct ResamplingUnits: Sendable, Equatable {
    private enum Units: Sendable, Equatable {
        case rows(Int)
        case patients([[Int]])
    }

    private let units: Units

    /// The number of rows the statistic is computed over.
    public let rowCount: Int

    /// Each of `rowCount` rows is its own unit. Throws when `rowCount` is not positive.
    public static func rows(_ rowCount: Int) throws -> ResamplingUnits {
        try InputValidation.requireNonEmpty(rowCount, "the rows to resample")
        return ResamplingUnits(units: .rows(rowCount), rowCount: rowCount)
    }

    /// Row `i` belongs to patient `patientIDs[i]`; a resample draws patients. Throws when empty.
    public init<PatientID: Hashable>(patientIDs: [PatientID]) throws {
        try InputValidation.requireNonEmpty(patientIDs.count, "the patient ids")
        var unitOfPatient: [PatientID: Int] = [:]
        var rowsOfUnit: [[Int]] = []
        for (row, patient) in patientIDs.enumerated() {
            if let unit = unitOfPatient[patient] {
                rowsOfUnit[unit].append(row)
            } else {
                unitOfPatient[patient] = rowsOfUnit.count
                rowsOfUnit.append([row])
            }
        }
        self.init(units: .patients(rowsOfUnit), rowCount: patientIDs.count)
    }

    private init(units: Units, rowCount: Int) {
        self.units = units
        self.rowCount = rowCount
    }

    /// The number of units a resample draws: rows or patients.
    public var unitCount: Int {
        switch units {
        case let .rows(count): return count
        case let .patients(rows): return rows.count
        }
    }

    /// One resample's row indices (rows may repeat).
    func resample(using generator: inout SeededGenerator) -> [Int] {
        switch units {
        case let .rows(count):
            return (0..<count).map { _ in generator.integer(below: count) }
        case let .patients(rowsOfUnit):
            var rows: [Int] = []
            rows.reserveCapacity(rowCount)
            for _ in rowsOfUnit.indices { rows += rowsOfUnit[generator.integer(below: rowsOfUnit.count)] }
            return rows
        }
    }
}
