// swift-tools-version:6.0
import PackageDescription

/// libFuzzer harnesses for RadProbe's file readers: one executable per format, all sharing
/// `FuzzSupport`. Built and run by `scripts/fuzz.sh` (see docs/robustness.md), which builds with
/// `--sanitize fuzzer --sanitize address -Xswiftc -parse-as-library`: libFuzzer supplies `main`,
/// so a build without `--sanitize fuzzer` does not link.
///
/// `enabledHarnesses` lists the formats whose reader exists; a harness source under
/// Sources/Fuzz<Format>/ that is not listed is not built.
let enabledHarnesses = ["PNG", "JPEG", "NIfTI", "DICOM", "MAT"]

let package = Package(
    name: "RadProbeFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "RadProbe", path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "RadProbe", package: "RadProbe")]),
        .target(name: "LibFuzzerHooks"),
    ] + enabledHarnesses.map { format in
        .executableTarget(name: "Fuzz\(format)", dependencies: [
            "FuzzSupport", "LibFuzzerHooks", .product(name: "RadProbe", package: "RadProbe"),
        ])
    }
)
