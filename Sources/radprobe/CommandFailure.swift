import ArgumentParser
import Foundation

/// A failure reported to the user as one clear message and a non-zero exit code.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ message: String) { description = message }

    /// Runs `body`, turning any error into a `CommandFailure` carrying its description
    /// (errors from the library already name the file and the problem).
    static func wrap<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let failure as CommandFailure { throw failure } catch {
            throw CommandFailure(String(describing: error))
        }
    }

    /// `wrap` for asynchronous work.
    static func wrapAsync<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let failure as CommandFailure { throw failure } catch {
            throw CommandFailure(String(describing: error))
        }
    }
}

extension CommandFailure: LocalizedError {
    var errorDescription: String? { description }
}
