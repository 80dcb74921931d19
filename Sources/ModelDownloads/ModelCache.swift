import Foundation

/// The folder that downloaded weight files are kept in: `$XDG_CACHE_HOME/radprobe` when that variable
/// holds an absolute path (the XDG Base Directory rule: relative values are ignored), otherwise
/// `$HOME/.cache/radprobe`, unless the user names another folder. A file `<name>` is complete and
/// verified when it was put there; `<name>.partial` is a download in progress, resumed by the next call.
public struct ModelCache: Sendable, Hashable {
    /// The cache folder (created on the first download).
    public let directory: URL

    /// A cache in `directory`.
    public init(directory: URL) {
        self.directory = directory
    }

    /// The cache in the default folder for `environment` (the process's own by default); throws when
    /// neither `XDG_CACHE_HOME` (absolute) nor `HOME` is set.
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ModelCache {
        ModelCache(directory: try defaultDirectory(environment: environment))
    }

    /// `$XDG_CACHE_HOME/radprobe` when that is an absolute path, else `$HOME/.cache/radprobe`.
    public static func defaultDirectory(environment: [String: String]) throws -> URL {
        if let cacheHome = environment["XDG_CACHE_HOME"], cacheHome.hasPrefix("/") {
            return URL(fileURLWithPath: cacheHome, isDirectory: true).appendingPathComponent("radprobe", isDirectory: true)
        }
        if let home = environment["HOME"], !home.isEmpty {
            return URL(fileURLWithPath: home, isDirectory: true)
                .appendingPathComponent(".cache", isDirectory: true).appendingPathComponent("radprobe", isDirectory: true)
        }
        throw ModelDownloadError.noCacheDirectory
    }

    /// Where `source`'s verified file lives.
    public func fileURL(for source: DownloadSource) -> URL {
        directory.appendingPathComponent(source.fileName)
    }

    /// Where `source`'s unfinished download lives.
    public func partialURL(for source: DownloadSource) -> URL {
        directory.appendingPathComponent(source.fileName + ".partial")
    }

    /// What the cache holds for `source`, without reading the file (no digest check).
    public func entry(for source: DownloadSource) -> CacheEntry {
        entry(named: source.fileName)
    }

    /// What the cache holds under `fileName` (a file whose download has no digest to check yet, say),
    /// without reading the file.
    public func entry(named fileName: String) -> CacheEntry {
        let file = directory.appendingPathComponent(fileName)
        if let size = Self.regularFileSize(at: file) { return .complete(file, bytes: size) }
        if let size = Self.regularFileSize(at: directory.appendingPathComponent(fileName + ".partial")) { return .partial(bytes: size) }
        return .absent
    }

    /// The size of the regular file at `url`, or nil when there is none.
    static func regularFileSize(at url: URL) -> Int64? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
              attributes[.type] as? FileAttributeType == .typeRegular
        else { return nil }
        return (attributes[.size] as? NSNumber)?.int64Value
    }
}

/// What a cache holds for one source.
public enum CacheEntry: Sendable, Hashable {
    /// Nothing.
    case absent
    /// An unfinished download of `bytes` bytes, which the next download resumes.
    case partial(bytes: Int64)
    /// The file (put there after its digest matched; `download` checks it again before returning it).
    case complete(URL, bytes: Int64)
}
