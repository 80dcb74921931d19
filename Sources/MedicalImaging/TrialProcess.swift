import Foundation

/// Runs a C library's reading of an untrusted file first in a forked copy of this process, so that a
/// crash inside the library on a corrupt file becomes an `ImagingError` instead of ending RadProbe.
///
/// `rehearse` forks; the copy runs `trial` (the same calls the real read will make, with their result
/// thrown away) and exits. The parent waits: if the copy ended normally the real read follows in this
/// process (the library is deterministic: the same calls on the same bytes take the same path); if it
/// died from a signal or exited abnormally, or ran past `timeout`, the file is refused. Used for
/// libhdf5 1.10, which fuzzing showed can dereference NULL on corrupt HDF5 files.
///
/// The caller must hold whatever lock guards the library, and `trial` must not take it again: the copy
/// has only the forking thread, and a lock held by another thread at the fork would never be released
/// there. On platforms without `fork` the trial is skipped.
enum TrialProcess {
    /// Forks, runs `trial` in the copy, and throws an `ImagingError` about `file` when the copy did not
    /// end normally within `timeout` seconds. `library` names what crashed in the message.
    static func rehearse(file: String, library: String, timeout: Double = 60, _ trial: () -> Void) throws {
        #if os(Linux)
        let child = fork()
        guard child >= 0 else { return }   // no process to spare: read without the rehearsal
        if child == 0 {
            // Die quietly from a crash: no backtrace printed by the Swift runtime's handlers.
            for crash in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP] { signal(crash, SIG_DFL) }
            trial()
            _exit(0)
        }
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(timeout)
        var pause: UInt32 = 50
        while true {
            let finished = waitpid(child, &status, WNOHANG)
            if finished == child { break }
            if finished < 0 && errno != EINTR { return }
            if Date() > deadline {
                kill(child, SIGKILL)
                waitpid(child, &status, 0)
                throw ImagingError(file: file, problem: "could not be read: \(library) did not finish reading it within "
                    + "\(Int(timeout)) s in a trial process")
            }
            usleep(pause)
            pause = min(pause * 2, 10_000)
        }
        let crashSignal = status & 0x7F, exitCode = (status >> 8) & 0xFF
        if crashSignal != 0 {
            throw ImagingError(file: file, problem: "is corrupt: \(library) crashed reading it (signal \(crashSignal)) in a trial "
                + "process, so RadProbe did not read it")
        }
        if exitCode != 0 {
            throw ImagingError(file: file, problem: "is corrupt: \(library) ended a trial read of it abnormally "
                + "(exit code \(exitCode)), so RadProbe did not read it")
        }
        #endif
    }
}
