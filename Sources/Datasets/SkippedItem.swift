/// An item left out because its image could not be read or run, with the error text: a feature store's skipped
/// items, and the items fine-tuning leaves out.
public struct SkippedItem: Equatable, Sendable, Codable {
    /// The item id.
    public let id: String
    /// What went wrong (an `ImagingError`'s description, say).
    public let error: String

    /// A skipped item.
    public init(id: String, error: String) {
        self.id = id
        self.error = error
    }
}
