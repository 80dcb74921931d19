import ConvolutionalNetworks
import Foundation
import ModelDownloads
import Models
import SegmentAnything

/// A named backbone of the study: its family, architecture, expected input size, where its official
/// weights are published and under which licence. `radprobe models list` prints the catalog, `radprobe
/// models download` fetches `file` into the cache, and `--model NAME` checks a checkpoint against it.
public struct BackbonePreset: Sendable {
    /// The architecture, from which the parameter count follows.
    public enum Architecture: Sendable {
        case transformer(VisionTransformerConfiguration)
        case sam(SAMEncoderConfiguration)
        case convolutional(ConvolutionalArchitecture)
    }

    public let name: String
    public let family: BackboneFamily
    public let architecture: Architecture
    /// The side of the square input the weights were trained at, and the default `--size`.
    public let inputSize: Int
    /// The published weights, e.g. `Hugging Face google/vit-large-patch16-224-in21k`.
    public let weights: String
    /// The official file.
    public let file: PublishedFile
    /// The licence of the weights as their publisher states it.
    public let licence: String

    /// The preset's file in `cache`, when `radprobe models download` has put it there (not verified again).
    public func cachedFile(in cache: ModelCache) -> URL? {
        guard case let .complete(url, _) = cache.entry(named: file.fileName) else { return nil }
        return url
    }

    /// Parameters of the backbone as RadProbe runs it (classification heads, projections and decoders
    /// of the published file excluded).
    public var parameterCount: Int {
        switch architecture {
        case let .transformer(configuration): configuration.parameterCount
        case let .sam(configuration): configuration.parameterCount
        case let .convolutional(architecture): architecture.parameterCount
        }
    }
}

/// A published weight file: its URL, the name it is cached under, and its SHA-256 when RadProbe pins it
/// (the whole digest, or torch.hub's 8-digit prefix carried by the file name). Hugging Face files are
/// not pinned: their digest is shown on the Hub, and `radprobe models download --sha256` takes it.
public struct PublishedFile: Sendable {
    /// How the digest is pinned.
    public enum Pin: Sendable {
        case sha256(String)
        case sha256Prefix(String)
    }

    public let url: URL
    public let fileName: String
    public let pin: Pin?
    public let bytes: Int64?

    public init(_ url: String, fileName: String? = nil, pin: Pin?, bytes: Int64? = nil) {
        self.url = URL(string: url)!
        self.fileName = fileName ?? self.url.lastPathComponent
        self.pin = pin
        self.bytes = bytes
    }

    /// The download of this file verified by `sha256` when given (64 hex digits; it then replaces the
    /// pin and the published size), else by the pin and size; throws when neither digest exists or the
    /// digest is malformed.
    public func source(sha256: String? = nil) throws -> DownloadSource {
        let digest: DigestPin
        if let sha256 {
            digest = try DigestPin.sha256(sha256)
        } else {
            switch pin {
            case let .sha256(hex)?: digest = try DigestPin.sha256(hex)
            case let .sha256Prefix(hex)?: digest = try DigestPin.sha256Prefix(hex)
            case nil:
                throw BackboneError("\(url.absoluteString) has no digest pinned in RadProbe: read its SHA-256 on the publisher's page and pass it with --sha256")
            }
        }
        return try DownloadSource(url: url, fileName: fileName, sha256: digest, expectedBytes: sha256 == nil ? bytes : nil)
    }

    /// How the file is verified, in words.
    public var pinSummary: String {
        switch pin {
        case let .sha256(hex)?: "sha256 \(hex.prefix(16))…"
        case let .sha256Prefix(hex)?: "sha256 prefix \(hex) (torch.hub)"
        case nil: "no pinned digest (give --sha256)"
        }
    }
}
