/// What a download's SHA-256 must be: either the whole digest (64 hex digits) or, where only that is
/// published, a prefix of it — torch.hub's convention, whose file names end in the digest's first 8 hex
/// digits (`resnet152-f82ba261.pth`). (Segment Anything's `sam_vit_l_0b3195.pth` looks alike but its
/// suffix starts the file's MD5, not its SHA-256: pin such files by their full SHA-256.) A file
/// satisfies the pin when its lowercase hex digest equals the full digest, or starts with the prefix.
/// A prefix of d hex digits lets a wrong file through with probability 16^-d, so messages say which
/// kind of pin was checked.
public struct DigestPin: Sendable, Hashable, CustomStringConvertible {
    /// Whether the pin holds the whole digest or a prefix of it.
    public enum Kind: Sendable, Hashable {
        /// All 64 hex digits.
        case fullDigest
        /// The first 8 to 63 hex digits, as in torch.hub file names.
        case prefix
    }

    /// The pinned hex digits, lowercase.
    public let hexDigits: String
    /// Whether `hexDigits` is the whole digest or a prefix.
    public let kind: Kind

    /// The shortest prefix accepted (torch.hub's file names carry 8 digits).
    public static let shortestPrefix = 8

    /// A pin on the whole SHA-256: exactly 64 hex digits (either case).
    public static func sha256(_ hex: String) throws -> DigestPin {
        let digits = try validatedHexDigits(hex)
        guard digits.count == 64 else {
            throw ModelDownloadError.invalidPin(hex, reason: "a full SHA-256 has 64 hex digits, this has \(digits.count)")
        }
        return DigestPin(hexDigits: digits, kind: .fullDigest)
    }

    /// A pin on the first hex digits of the SHA-256 (8 to 63 of them), as a torch.hub file name carries.
    public static func sha256Prefix(_ hex: String) throws -> DigestPin {
        let digits = try validatedHexDigits(hex)
        guard (shortestPrefix..<64).contains(digits.count) else {
            throw ModelDownloadError.invalidPin(
                hex, reason: "a SHA-256 prefix has \(shortestPrefix) to 63 hex digits, this has \(digits.count)")
        }
        return DigestPin(hexDigits: digits, kind: .prefix)
    }

    /// Whether a file whose SHA-256 is `digest` (64 hex digits) satisfies the pin.
    public func isSatisfied(byDigest digest: String) -> Bool {
        let digest = digest.lowercased()
        switch kind {
        case .fullDigest: return digest == hexDigits
        case .prefix: return digest.hasPrefix(hexDigits)
        }
    }

    /// How the file is checked, for listings: `sha256 pinned` or `sha256 prefix f82ba261 pinned (torch.hub)`.
    public var summary: String {
        switch kind {
        case .fullDigest: return "sha256 pinned"
        case .prefix: return "sha256 prefix \(hexDigits) pinned (torch.hub)"
        }
    }

    /// The pin in messages: `sha256 <64 digits>` or `sha256 prefix <digits>`.
    public var description: String {
        switch kind {
        case .fullDigest: return "sha256 \(hexDigits)"
        case .prefix: return "sha256 prefix \(hexDigits)"
        }
    }

    /// `hex` lowercased, or an `invalidPin` error when it holds anything but hex digits.
    private static func validatedHexDigits(_ hex: String) throws -> String {
        let digits = hex.lowercased()
        guard !digits.isEmpty, digits.allSatisfy({ $0.isHexDigit && $0.isASCII }) else {
            throw ModelDownloadError.invalidPin(hex, reason: "a SHA-256 is written in hex digits (0-9, a-f)")
        }
        return digits
    }
}
