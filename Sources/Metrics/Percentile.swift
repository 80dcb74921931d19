/// The `percent`-th percentile (0…100) of ascending `sorted` values by linear interpolation, with the
/// same floating-point steps as `numpy.percentile(method='linear')`: `h = (N − 1)·(percent/100)`,
/// `i = ⌊h⌋`, `γ = h − i`, result `a + (b − a)·γ` for `γ < ½` and `b − (b − a)·(1 − γ)` otherwise,
/// with `a = sorted[i]`, `b = sorted[i + 1]`.
func linearPercentile(ofSorted sorted: [Double], percent: Double) -> Double {
    let position = Double(sorted.count - 1) * (percent / 100)
    if position >= Double(sorted.count - 1) { return sorted[sorted.count - 1] }
    if position < 0 { return sorted[0] }
    let index = Int(position.rounded(.down))
    let gamma = position - Double(index)
    let a = sorted[index], b = sorted[index + 1]
    let difference = b - a
    return gamma >= 0.5 ? b - difference * (1 - gamma) : a + difference * gamma
}
