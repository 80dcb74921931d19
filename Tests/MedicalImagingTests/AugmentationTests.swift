import Foundation
import MedicalImaging
import Randomness
import XCTest

/// Seeded augmentation: reproducible, real flips, and image and mask kept aligned.
final class AugmentationTests: XCTestCase {
    /// A 40 × 32 label map of asymmetric blocks (labels 0–4) and the image `100 · label`.
    func pair() -> (image: Image2D, mask: Image2D) {
        let width = 40, height = 32
        var labels = [Float](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                labels[y * width + x] = switch (y, x) {
                case (2..<14, 3..<20): 1
                case (2..<12, 24..<38): 2
                case (16..<30, 4..<14): 3
                case (18..<28, 18..<36): 4
                default: 0
                }
            }
        }
        return (Image2D(width: width, height: height, channels: 1, pixels: labels.map { $0 * 100 }),
                Image2D(width: width, height: height, channels: 1, pixels: labels))
    }

    func testSplitMix64ReferenceSequence() {
        var rng = SeededGenerator(seed: 1234567)
        // SplitMix64 outputs for seed 1234567 (as Java's SplittableRandom / Vigna's splitmix64.c).
        XCTAssertEqual([rng.next(), rng.next(), rng.next()],
                       [6457827717110365317, 3203168211198807973, 9817491932198370423])
        var unit = SeededGenerator(seed: 7)
        for _ in 0..<1000 {
            let u = unit.uniform()
            XCTAssertTrue(u >= 0 && u < 1)
            XCTAssertTrue((0..<5).contains(unit.integer(below: 5)))
        }
    }

    func testHorizontalFlipMirrorsColumns() throws {
        let (image, mask) = pair()
        var rng = SeededGenerator(seed: 1)
        let (flipped, flippedMask) = try Augmentation(steps: [.horizontalFlip(HorizontalFlip(p: 1))])(image, mask: mask, using: &rng)
        for y in 0..<image.height {
            for x in 0..<image.width {
                XCTAssertEqual(flipped[channel: 0, y: y, x: x], image[channel: 0, y: y, x: image.width - 1 - x])
                XCTAssertEqual(flippedMask?[channel: 0, y: y, x: x], mask[channel: 0, y: y, x: image.width - 1 - x])
            }
        }
        let (vertical, _) = try Augmentation(steps: [.verticalFlip(VerticalFlip(p: 1))])(image, mask: nil, using: &rng)
        XCTAssertEqual(vertical[channel: 0, y: 0, x: 5], image[channel: 0, y: image.height - 1, x: 5])
        let (untouched, _) = try Augmentation(steps: [.horizontalFlip(HorizontalFlip(p: 0))])(image, mask: nil, using: &rng)
        XCTAssertEqual(untouched, image)
    }

    func testSameSeedSameResultAndSeedsDiffer() throws {
        let (image, mask) = pair()
        var outputs = Set<[Float]>()
        for augmentation in [Augmentation.classification, .segmentation] {
            for seed in UInt64(0)..<8 {
                var first = SeededGenerator(seed: seed), second = SeededGenerator(seed: seed)
                let a = try augmentation(image, mask: mask, using: &first)
                let b = try augmentation(image, mask: mask, using: &second)
                XCTAssertEqual(a.0, b.0)
                XCTAssertEqual(a.1, b.1)
                XCTAssertEqual(first.state, second.state)
                outputs.insert(a.0.pixels)
            }
        }
        XCTAssertGreaterThan(outputs.count, 8, "different seeds should give different augmentations")
    }

    /// Crops and flips move samples without interpolating: image = 100 · mask everywhere after them.
    func testCropAndFlipsKeepImageAndMaskIdentical() throws {
        let (image, mask) = pair()
        let augmentation = Augmentation(steps: [.scaleCrop(RandomScaleCrop(scale: 0.5...1)),
                                                .horizontalFlip(HorizontalFlip(p: 0.5)), .verticalFlip(VerticalFlip(p: 0.5))])
        var sizes = Set<[Int]>()
        for seed in UInt64(0)..<50 {
            var rng = SeededGenerator(seed: seed)
            let (outImage, outMask) = try augmentation(image, mask: mask, using: &rng)
            let labels = try XCTUnwrap(outMask)
            XCTAssertEqual(outImage.pixels, labels.pixels.map { $0 * 100 }, "seed \(seed)")
            sizes.insert([outImage.width, outImage.height])
            let area = Double(outImage.width * outImage.height) / Double(image.width * image.height)
            XCTAssertTrue(area > 0.45 && area <= 1, "area fraction \(area)")
            XCTAssertEqual(Double(outImage.width) / Double(outImage.height), 40.0 / 32.0, accuracy: 0.1)
        }
        XCTAssertGreaterThan(sizes.count, 5)
    }

    /// After the segmentation preset (with rotation) the image's label, `round(value / 100)`, equals the mask
    /// wherever the mask is uniform over the 3 × 3 neighbourhood inside the frame (bilinear mixing stays below
    /// half a label step there), and the value is the unmixed `100 · label` where it is uniform over 5 × 5.
    func testSegmentationAugmentationKeepsImageAndMaskAligned() throws {
        let (image, mask) = pair()
        for seed in UInt64(0)..<40 {
            var rng = SeededGenerator(seed: seed)
            let (outImage, outMask) = try Augmentation.segmentation(image, mask: mask, using: &rng)
            let labels = try XCTUnwrap(outMask)
            XCTAssertEqual([outImage.width, outImage.height], [40, 32])
            XCTAssertTrue(Set(labels.pixels).isSubset(of: [0, 1, 2, 3, 4]))
            func uniform(_ y: Int, _ x: Int, radius: Int) -> Bool {
                let label = labels[channel: 0, y: y, x: x]
                return (-radius...radius).allSatisfy { dy in (-radius...radius).allSatisfy { dx in
                    let (ny, nx) = (y + dy, x + dx)
                    return ny >= 0 && ny < 32 && nx >= 0 && nx < 40 && labels[channel: 0, y: ny, x: nx] == label } }
            }
            var checked = 0
            for y in 0..<32 {
                for x in 0..<40 where uniform(y, x, radius: 1) {
                    let label = labels[channel: 0, y: y, x: x], value = outImage[channel: 0, y: y, x: x]
                    XCTAssertEqual((value / 100).rounded(), label, "seed \(seed) at (\(y), \(x)): \(value)")
                    if uniform(y, x, radius: 2) {
                        XCTAssertEqual(value, label * 100, accuracy: 1e-3, "seed \(seed) at (\(y), \(x))")
                    }
                    checked += 1
                }
            }
            XCTAssertGreaterThan(checked, 600, "seed \(seed): too few pixels away from label borders")
        }
    }

    func testRotationDirectionAndMaskSampling() {
        // A bright pixel right of the centre goes to the top after +90° (counter-clockwise), to the bottom after −90°.
        var pixels = [Float](repeating: 0, count: 25)
        pixels[2 * 5 + 4] = 1
        let image = Image2D(width: 5, height: 5, channels: 1, pixels: pixels)
        let left = image.rotated(degrees: 90, sampling: .bilinear)
        XCTAssertEqual(left[channel: 0, y: 0, x: 2], 1, accuracy: 1e-6)
        XCTAssertEqual(left.pixels.reduce(0, +), 1, accuracy: 1e-6)
        XCTAssertEqual(image.rotated(degrees: -90, sampling: .nearest)[channel: 0, y: 4, x: 2], 1)
        XCTAssertEqual(image.rotated(degrees: 180, sampling: .nearest)[channel: 0, y: 2, x: 0], 1)
        XCTAssertEqual(image.rotated(degrees: 0, sampling: .bilinear), image)
        // Corners rotated out of the frame are filled with 0; nearest never mixes labels.
        let ones = Image2D(width: 6, height: 6, channels: 1, pixels: (0..<36).map { Float($0 % 3) })
        let turned = ones.rotated(degrees: 45, sampling: .nearest)
        XCTAssertEqual(turned[channel: 0, y: 0, x: 0], 0)
        XCTAssertTrue(Set(turned.pixels).isSubset(of: [0, 1, 2]))
        XCTAssertEqual(RandomRotation(maxDegrees: 0).description, "rotate[0]")
    }

    func testRecordsAndMismatchedMask() throws {
        XCTAssertEqual(Augmentation.classification.description, "scalecrop[0.75,1] > hflip[0.5]")
        XCTAssertEqual(Augmentation.segmentation.description, "hflip[0.25] > vflip[0.25] > rotate[90]")
        for augmentation in [Augmentation.classification, .segmentation] {
            XCTAssertEqual(Augmentation(record: augmentation.description), augmentation)
            let json = try JSONEncoder().encode(augmentation)
            XCTAssertEqual(try JSONDecoder().decode(Augmentation.self, from: json), augmentation)
        }
        XCTAssertNil(Augmentation(record: "hflip[2]"))
        XCTAssertNil(Augmentation(record: "scalecrop[0,1]"))
        let (image, _) = pair()
        var rng = SeededGenerator(seed: 0)
        let small = Image2D(width: 3, height: 3, channels: 1, pixels: [Float](repeating: 0, count: 9))
        XCTAssertThrowsError(try Augmentation.segmentation(image, mask: small, using: &rng))
    }
}
