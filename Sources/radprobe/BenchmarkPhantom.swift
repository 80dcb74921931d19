import Foundation
import MedicalImaging

/// The synthetic images `radprobe bench decode` measures: one smooth phantom (a body ellipse holding
/// two "lungs", a "spine" and a "heart", values in Hounsfield-like units) plus deterministic noise, so
/// files compress like real scans rather than like constant or random data.
enum BenchmarkPhantom {
    /// Phantom value at normalised coordinates `u, v ∈ [−1, 1]` and height `w ∈ [−1, 1]` (HU-like).
    static func value(u: Double, v: Double, w: Double) -> Double {
        func inside(_ cu: Double, _ cv: Double, _ ru: Double, _ rv: Double) -> Bool {
            let a = (u - cu) / ru, b = (v - cv) / rv
            return a * a + b * b <= 1
        }
        let taper = 1 - 0.25 * w * w
        guard inside(0, 0, 0.9 * taper, 0.7 * taper) else { return -1000 }
        if inside(0, 0.45, 0.12, 0.12) { return 700 }                               // spine
        if inside(0.1, -0.05, 0.22 * taper, 0.2 * taper) { return 40 }              // heart
        if inside(-0.4, 0, 0.3, 0.45 * taper) || inside(0.45, 0, 0.28, 0.45 * taper) { return -850 }  // lungs
        return 20
    }

    /// A `width × height` slice at height `w` scaled to `offset + scale · HU`, with noise of amplitude `noise`.
    static func slice(width: Int, height: Int, w: Double, offset: Double, scale: Double, noise: Double,
                      generator: inout UInt64) -> [Float] {
        var pixels = [Float](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                generator = generator &* 6364136223846793005 &+ 1442695040888963407
                let jitter = (Double(generator >> 40) / Double(1 << 24) - 0.5) * 2 * noise
                let u = 2 * (Double(x) + 0.5) / Double(width) - 1, v = 2 * (Double(y) + 0.5) / Double(height) - 1
                pixels[y * width + x] = Float((offset + scale * value(u: u, v: v, w: w) + jitter).rounded())
            }
        }
        return pixels
    }

    /// Writes `phantom_1024_16bit.png`, `phantom_512.jpg` and `phantom_512x512x100.nii.gz` into `folder`.
    static func writeStandardFiles(to folder: URL) throws -> [URL] {
        var generator: UInt64 = 0x5EED
        let png = folder.appendingPathComponent("phantom_1024_16bit.png")
        let radiograph = slice(width: 1024, height: 1024, w: 0, offset: 1100, scale: 1.5, noise: 40, generator: &generator)
        try PNGWriter.write(Image2D(width: 1024, height: 1024, channels: 1, pixels: radiograph), to: png, depth: .sixteen)
        let jpeg = folder.appendingPathComponent("phantom_512.jpg")
        let photo = slice(width: 512, height: 512, w: 0, offset: 128, scale: 0.1, noise: 6, generator: &generator)
        try JPEGWriter.write(Image2D(width: 512, height: 512, channels: 1, pixels: photo), to: jpeg, quality: 95)
        let nifti = folder.appendingPathComponent("phantom_512x512x100.nii.gz")
        let depth = 100
        var voxels: [Float] = []
        voxels.reserveCapacity(512 * 512 * depth)
        for k in 0..<depth {
            voxels += slice(width: 512, height: 512, w: 2 * (Double(k) + 0.5) / Double(depth) - 1, offset: 0, scale: 1, noise: 20,
                            generator: &generator)
        }
        let volume = Volume(size: [512, 512, depth], voxels: voxels, spacing: [0.7, 0.7, 2.5], storedType: "int16")
        try NIfTIWriter.write(volume, to: nifti, as: .int16)
        return [png, jpeg, nifti]
    }
}
