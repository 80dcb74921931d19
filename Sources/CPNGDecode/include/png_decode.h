// Decodes a PNG held in memory with libpng's classic API in a single pass, with libpng's errors
// (reported by longjmp) caught here under setjmp and returned as messages, so callers that cannot
// catch a longjmp (Swift) never see one.
#ifndef RADPROBE_PNG_DECODE_H
#define RADPROBE_PNG_DECODE_H

#include <stddef.h>
#include <stdint.h>

/// The size of the message buffers `png_decode_open` and `png_decode_read` fill on failure.
#define PNG_DECODE_MESSAGE_SIZE 256

/// What a decoder will deliver, after its transformations (palette → RGB, 1/2/4-bit grey → 8 bits,
/// alpha stripped, 16-bit samples in the host's byte order), and what the file stores.
typedef struct png_decode_header {
    uint32_t width;
    uint32_t height;
    /// Samples per pixel delivered: 1 (grey) or 3 (RGB).
    int channels;
    /// Bits per delivered sample: 8 or 16.
    int bit_depth;
    /// Bytes per delivered row: width × channels × bit_depth / 8.
    size_t row_bytes;
    /// Bits per pixel as stored in the file (channels × bit depth of the IHDR colour type).
    int file_pixel_bits;
    /// 1 when the file is Adam7-interlaced.
    int interlaced;
} png_decode_header;

/// An open decoder: libpng's read state over a caller-owned byte buffer.
typedef struct png_decoder png_decoder;

/// Reads the chunks up to the first IDAT of `data[0 ..< size]` (which must stay alive until
/// `png_decode_close`), sets up the transformations and fills `header`. Returns NULL on failure with
/// a message (libpng's, or about memory) in `message`.
png_decoder *png_decode_open(const uint8_t *data, size_t size, png_decode_header *header,
                             char message[PNG_DECODE_MESSAGE_SIZE]);

/// Decompresses the image data once into `pixels` (height × header.row_bytes bytes, rows top to
/// bottom, samples interleaved) and reads the chunks after it through IEND; CRCs and the zlib
/// stream are checked as libpng checks them by default. Returns 1 on success, 0 on failure with
/// libpng's message in `message` (`pixels` then holds partial data).
int png_decode_read(png_decoder *decoder, uint8_t *pixels, char message[PNG_DECODE_MESSAGE_SIZE]);

/// Frees the decoder (NULL is allowed).
void png_decode_close(png_decoder *decoder);

#endif
