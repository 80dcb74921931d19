import Randomness

/// Settings of a percentile bootstrap: `resamples` draws (default 1000) from a `SeededGenerator(seed:)`,
/// and a two-sided interval of level `confidence` (default 0.95).
public struct BootstrapConfiguration: Sendable, Equatable {
    public let resamples: Int
    public let confidence: Double
    public let seed: UInt64

    /// Throws unless `resamples > 0` and `0 < confidence < 1`.
    public init(seed: UInt64, resamples: Int = 1000, confidence: Double = 0.95) throws {
        guard resamples > 0 else { throw MetricsError.invalidResampleCount(resamples) }
        guard confidence > 0, confidence < 1 else { throw MetricsError.invalidConfidence(confidence) }
        self.seed = seed
        self.resamples = resamples
        self.confidence = confidence
    }
}

/// A two-sided interval `[lower, upper]` of level `confidence`.
public struct ConfidenceInterval: Sendable, Equatable {
    public let lower: Double
    public let upper: Double
    public let confidence: Double
}

/// A statistic on the full sample with its percentile-bootstrap interval. Resamples on which the statistic
/// is undefined (`nil` or NaN, e.g. an AUROC of a resample with one label value) are skipped and counted;
/// `interval` is `nil` when every resample was skipped.
public struct BootstrapEstimate: Sendable, Equatable {
    /// The statistic on all rows (`nil` when undefined there).
    public let estimate: Double?
    public let interval: ConfidenceInterval?
    /// Resamples that contributed a value.
    public let validResamples: Int
    /// Resamples on which the statistic was undefined.
    public let skippedResamples: Int
}

/// Percentile bootstrap over rows or patients (see `ResamplingUnits`). The statistic is any closure of a
/// list of row indices (repeats allowed) returning a value, or `nil` where undefined. Draws are made in
/// resample order, each resample drawing `unitCount` units with `integer(below: unitCount)`. The interval
/// ends are the `100·(1−c)/2` and `100·(1+c)/2` percentiles of the valid resample values, linearly
/// interpolated as `numpy.percentile`.
public enum Bootstrap {
    /// The statistic on all rows and its bootstrap interval.
    public static func estimate(units: ResamplingUnits, configuration: BootstrapConfiguration,
                                statistic: ([Int]) throws -> Double?) rethrows -> BootstrapEstimate {
        var values: [Double] = []
        let skipped = try forEachResample(units: units, configuration: configuration) { rows in
            guard let value = try definedValue(statistic(rows)) else { return false }
            values.append(value)
            return true
        }
        return BootstrapEstimate(estimate: try definedValue(statistic(Array(0..<units.rowCount))),
                                 interval: percentileInterval(values, confidence: configuration.confidence),
                                 validResamples: values.count, skippedResamples: skipped)
    }

    /// Calls `body` with each resample's rows in draw order; `body` says whether the resample was usable.
    /// Returns the number of unusable (skipped) resamples.
    static func forEachResample(units: ResamplingUnits, configuration: BootstrapConfiguration,
                                _ body: ([Int]) throws -> Bool) rethrows -> Int {
        var generator = SeededGenerator(seed: configuration.seed)
        var skipped = 0
        for _ in 0..<configuration.resamples {
            if try !body(units.resample(using: &generator)) { skipped += 1 }
        }
        return skipped
    }

    /// `value` unless it is `nil` or NaN.
    static func definedValue(_ value: Double?) -> Double? {
        guard let value, !value.isNaN else { return nil }
        return value
    }

    /// The percentile interval of `values`; `nil` when there are none.
    static func percentileInterval(_ values: [Double], confidence: Double) -> ConfidenceInterval? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return ConfidenceInterval(lower: linearPercentile(ofSorted: sorted, percent: 100 * (1 - confidence) / 2),
                                  upper: linearPercentile(ofSorted: sorted, percent: 100 * (1 + confidence) / 2),
                                  confidence: confidence)
    }
}
