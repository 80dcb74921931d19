import Foundation
import MedicalImaging
import XCTest

/// Radiological display slices from volumes stored in different voxel orders: the same anatomy must give
/// the same displayed slices whatever the affine (RAS, LPS, permuted axes).
final class VolumeSlicingTests: XCTestCase {
    /// World grid points per axis (x toward Right, y toward Anterior, z toward Superior) and their spacing.
    let dims = [4, 5, 3]
    let worldSpacing = [0.7, 0.8, 2.5]

    /// The phantom's value at world grid point (x, y, z), distinct everywhere.
    func phantom(_ x: Int, _ y: Int, _ z: Int) -> Float { Float(x * 100 + y * 10 + z) }

    /// The phantom stored with voxel axis `a` running along world axis `layout[a].world`, toward
    /// increasing world coordinate when `layout[a].sign` is +1; `frames` copies, frame t adding 1000 · t.
    func volume(_ layout: [(world: Int, sign: Int)], frames: Int = 1) -> Volume {
        let size = layout.map { dims[$0.world] }
        var matrix = [Double](repeating: 0, count: 16)
        matrix[15] = 1
        for (a, axis) in layout.enumerated() {
            matrix[axis.world * 4 + a] = Double(axis.sign) * worldSpacing[axis.world]
            if axis.sign < 0 { matrix[axis.world * 4 + 3] = Double(dims[axis.world] - 1) * worldSpacing[axis.world] }
        }
        var voxels = [Float]()
        for t in 0..<frames {
            for k in 0..<size[2] {
                for j in 0..<size[1] {
                    for i in 0..<size[0] {
                        var world = [0, 0, 0]
                        for (a, index) in [i, j, k].enumerated() {
                            let axis = layout[a]
                            world[axis.world] = axis.sign > 0 ? index : dims[axis.world] - 1 - index
                        }
                        voxels.append(phantom(world[0], world[1], world[2]) + Float(1000 * t))
                    }
                }
            }
        }
        return Volume(size: size, frames: frames, voxels: voxels, spacing: layout.map { worldSpacing[$0.world] },
                      affine: AffineTransform(rowMajor: matrix))
    }

    /// The expected display of slice `k`: (rows, columns, value at row r, column c).
    func expected(_ axis: VolumeSlicer.Axis, _ k: Int) -> Image2D {
        let (x, y, z) = (dims[0], dims[1], dims[2])
        let (height, width, value): (Int, Int, (Int, Int) -> Float) = switch axis {
        case .axial: (y, x, { r, c in self.phantom(x - 1 - c, y - 1 - r, k) })      // column → L, row → P
        case .coronal: (z, x, { r, c in self.phantom(x - 1 - c, k, z - 1 - r) })    // column → L, row → I
        case .sagittal: (z, y, { r, c in self.phantom(k, y - 1 - c, z - 1 - r) })   // column → P, row → I
        }
        var image = Image2D(width: width, height: height, channels: 1,
                            pixels: (0..<height * width).map { value($0 / width, $0 % width) })
        image.pixelSpacing = switch axis {
        case .axial: [worldSpacing[1], worldSpacing[0]]
        case .coronal: [worldSpacing[2], worldSpacing[0]]
        case .sagittal: [worldSpacing[2], worldSpacing[1]]
        }
        return image
    }

    let layouts: [(codes: String, layout: [(world: Int, sign: Int)])] = [
        ("RAS", [(0, 1), (1, 1), (2, 1)]),
        ("LPS", [(0, -1), (1, -1), (2, 1)]),
        ("IRP", [(2, -1), (0, 1), (1, -1)]),
        ("ASL", [(1, 1), (2, 1), (0, -1)]),
    ]

    func testSameAnatomyGivesTheSameDisplayWhateverTheVoxelOrder() throws {
        for (codes, layout) in layouts {
            let volume = volume(layout)
            XCTAssertEqual(volume.orientation, codes)
            for axis in VolumeSlicer.Axis.allCases {
                let slices = try VolumeSlicer(axis: axis).slices(of: volume)
                let count = dims[[VolumeSlicer.Axis.sagittal: 0, .coronal: 1, .axial: 2][axis]!]
                XCTAssertEqual(slices.count, count, "\(codes) \(axis)")
                XCTAssertEqual(try volume.sliceCount(axis: axis), count)
                for k in 0..<count {
                    XCTAssertEqual(slices[k], expected(axis, k), "\(codes) \(axis) slice \(k)")
                    XCTAssertEqual(slices[k].pixelSpacing, expected(axis, k).pixelSpacing, "\(codes) \(axis) spacing")
                    XCTAssertEqual(try volume.slice(k, axis: axis), slices[k])
                }
            }
        }
    }

    /// In an RAS volume the first axial slice is the most inferior, its top-left pixel the most anterior
    /// point on the patient's right.
    func testAxialDisplayOfAnRASVolume() throws {
        let slice = try volume(layouts[0].layout).slice(0, axis: .axial)
        XCTAssertEqual(slice[channel: 0, y: 0, x: 0], phantom(dims[0] - 1, dims[1] - 1, 0))
        XCTAssertEqual(slice[channel: 0, y: 0, x: 1], phantom(dims[0] - 2, dims[1] - 1, 0))
        XCTAssertEqual(slice[channel: 0, y: 1, x: 0], phantom(dims[0] - 1, dims[1] - 2, 0))
    }

    func testLaterFramesAndBadRequests() throws {
        let volume = volume(layouts[1].layout, frames: 2)
        let second = try volume.slice(1, axis: .coronal, frame: 1)
        XCTAssertEqual(second.pixels, expected(.coronal, 1).pixels.map { $0 + 1000 })
        XCTAssertThrowsError(try volume.slice(3, axis: .axial))
        XCTAssertThrowsError(try volume.slice(-1, axis: .sagittal))
        let flat = Volume(size: [2, 2, 2], voxels: [Float](repeating: 0, count: 8),
                          affine: AffineTransform(rowMajor: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]))
        XCTAssertThrowsError(try VolumeSlicer(axis: .axial).slices(of: flat)) { error in
            XCTAssertTrue("\(error)".contains("no voxel axis along world z"), "\(error)")
        }
    }
}
