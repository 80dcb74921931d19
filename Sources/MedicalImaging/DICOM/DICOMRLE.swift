/// Decodes one frame of RLE Lossless pixel data (PS3.5 Annex G).
///
/// A frame is a 64-byte header (16 little-endian UInt32: the number of segments, then the byte offset
/// of each segment from the frame start, the first being 64) and the segments, each a PackBits stream:
/// a control byte `n` in 0…127 copies the next `n + 1` bytes; −127…−1 repeats the next byte `1 − n`
/// times; −128 does nothing. A frame of `bitsAllocated / 8` bytes per sample has one segment per byte
/// of each sample, most significant byte first, samples in order (`R` bytes, `G` bytes, `B` bytes), each
/// segment decoding to `rows × columns` bytes (extra decoded bytes are ignored, as pydicom does).
enum DICOMRLE {
    /// The stored values of one frame, planar `[samplesPerPixel, rows, columns]`.
    static func decodeFrame(_ data: [UInt8], layout: DICOMPixelLayout, frame: Int, file: String) throws -> [Float] {
        func fail(_ problem: String) -> ImagingError {
            ImagingError(file: file, problem: "has corrupt RLE data in frame \(frame + 1): \(problem)")
        }
        guard layout.bitsAllocated % 8 == 0 else { throw fail("Bits Allocated \(layout.bitsAllocated) cannot be RLE coded") }
        let bytesPerSample = layout.bitsAllocated / 8
        let expectedSegments = bytesPerSample * layout.samplesPerPixel
        guard data.count >= 64 else { throw fail("\(data.count) bytes, shorter than the 64-byte header") }
        func header(_ index: Int) -> Int { (0..<4).reduce(0) { $0 | Int(data[4 * index + $1]) << (8 * $1) } }
        let segmentCount = header(0)
        guard segmentCount == expectedSegments else {
            throw fail("\(segmentCount) segments where \(layout.samplesPerPixel) sample(s) of \(layout.bitsAllocated) bits "
                + "need \(expectedSegments)")
        }
        let offsets = (1...segmentCount).map(header) + [data.count]
        guard offsets[0] == 64 else { throw fail("the first segment starts at byte \(offsets[0]), not 64") }
        for index in 0..<segmentCount where offsets[index] > offsets[index + 1] {
            throw fail("segment \(index + 1) spans bytes \(offsets[index])…\(offsets[index + 1]) of \(data.count)")
        }
        let pixels = layout.rows * layout.columns
        // PackBits turns at most 2 bytes into 128: a frame shorter than that bound is corrupt (and this
        // bounds the allocations below by the file size).
        guard pixels * segmentCount <= 64 * (data.count - 64) else {
            throw fail("\(data.count) bytes cannot hold \(segmentCount) segments of \(pixels) bytes")
        }
        let format = DICOMPixelLayout.SampleFormat(layout)
        var values = [Float](repeating: 0, count: pixels * layout.samplesPerPixel)
        var raw = [UInt32](repeating: 0, count: pixels)
        var segment = [UInt8](repeating: 0, count: pixels)
        for sample in 0..<layout.samplesPerPixel {
            for index in 0..<pixels { raw[index] = 0 }
            for byte in 0..<bytesPerSample {
                let number = sample * bytesPerSample + byte
                let decoded = unpackBits(data, from: offsets[number], to: offsets[number + 1], into: &segment)
                guard decoded == pixels else {
                    throw fail("segment \(number + 1) decodes to \(decoded) bytes, \(pixels) expected")
                }
                for index in 0..<pixels { raw[index] = raw[index] << 8 | UInt32(segment[index]) }
            }
            let base = sample * pixels
            for index in 0..<pixels { values[base + index] = format.value(raw[index]) }
        }
        return values
    }

    /// PackBits-decodes `data[start..<end]` into `output` until it is full or the input ends; returns
    /// the number of bytes written. Runs that reach past either end are cut short.
    static func unpackBits(_ data: [UInt8], from start: Int, to end: Int, into output: inout [UInt8]) -> Int {
        let capacity = output.count
        var written = 0
        var position = start
        data.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                while position < end && written < capacity {
                    let control = Int(Int8(bitPattern: input[position]))
                    position += 1
                    if control >= 0 {
                        let count = min(control + 1, end - position, capacity - written)
                        for k in 0..<count { out[written + k] = input[position + k] }
                        written += count
                        position += control + 1
                    } else if control != -128 {
                        guard position < end else { break }
                        let count = min(1 - control, capacity - written)
                        let byte = input[position]
                        for k in 0..<count { out[written + k] = byte }
                        written += count
                        position += 1
                    }
                }
            }
        }
        return written
    }
}
