import Foundation

/// Progress of long work on standard error: a bar with rate and ETA on a terminal, plain log lines
/// (at most one every few seconds) otherwise.
final class ProgressReporter {
    let total: Int
    let unit: String
    let interactive: Bool
    let start = Date()
    var done = 0
    var lastLine = Date.distantPast

    init(total: Int, unit: String) {
        self.total = total
        self.unit = unit
        interactive = isatty(STDERR_FILENO) == 1
    }

    /// Counts `count` more units done; `detail` (e.g. `loss 0.4132`) is shown after the rate and ETA.
    func advance(by count: Int, detail: String? = nil) {
        done += count
        let now = Date()
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let remaining = rate > 0 ? Double(total - done) / rate : 0
        if interactive {
            let width = 30
            let filled = total > 0 ? width * done / total : width
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            FileHandle.standardError.write(Data(String(format: "\r%@ %d/%d %@  %.1f %@/s  ETA %@%@ ", bar, done, total, unit, rate, unit,
                                                       Self.clock(remaining), detail.map { "  " + $0 } ?? "").utf8))
        } else if now.timeIntervalSince(lastLine) >= 5 || done == total {
            lastLine = now
            FileHandle.standardError.write(Data(String(format: "progress: %d/%d %@, %.2f %@/s, ETA %@%@\n", done, total, unit, rate, unit,
                                                       Self.clock(remaining), detail.map { ", " + $0 } ?? "").utf8))
        }
    }

    func finish() {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d", s / 60, s % 60)
    }
}

/// Progress of work done in named phases (`ProbeProgress`): the phase's name on a line of its own, then
/// one `ProgressReporter` per phase, the previous one finished when a new phase starts. Called from one
/// thread at a time.
final class PhaseProgress: @unchecked Sendable {
    private var phase = ""
    private var reporter: ProgressReporter?

    /// Reports that `completed` of `total` units of `phase` are done.
    func update(_ phase: String, _ unit: String, _ completed: Int, _ total: Int) {
        if phase != self.phase || reporter == nil {
            reporter?.finish()
            self.phase = phase
            FileHandle.standardError.write(Data("\(phase)\n".utf8))
            reporter = ProgressReporter(total: total, unit: unit)
        }
        guard let reporter else { return }
        reporter.advance(by: completed - reporter.done)
        if completed == total {
            reporter.finish()
            self.reporter = nil
        }
    }
}
