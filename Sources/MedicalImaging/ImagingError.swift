@_exported import FileAccess

/// A problem reading or preparing an image, naming the file: its description is `"<file>: <problem>"`,
/// e.g. `"/data/cxr/0001.png: is not a PNG file (wrong signature …)"`.
public typealias ImagingError = FileError
