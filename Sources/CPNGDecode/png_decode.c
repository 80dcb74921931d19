#include "png_decode.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct png_decoder {
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t size;
    size_t offset;
    /// Where the error handler writes: the message buffer of the call in progress.
    char *message;
    int passes;
    uint32_t height;
    size_t row_bytes;
};

static void set_message(char *message, const char *text) {
    snprintf(message, PNG_DECODE_MESSAGE_SIZE, "%s", text != NULL && text[0] != '\0' ? text : "unknown error");
}

/// libpng's error callback: keep the message, then jump back to the setjmp of the call in progress.
static void on_error(png_structp png, png_const_charp text) {
    png_decoder *decoder = png_get_error_ptr(png);
    set_message(decoder->message, text);
    png_longjmp(png, 1);
}

/// Warnings (benign problems such as a bad ancillary-chunk CRC, which libpng then skips) are dropped.
static void on_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void on_read(png_structp png, png_bytep destination, size_t length) {
    png_decoder *decoder = png_get_io_ptr(png);
    if (length > decoder->size - decoder->offset) png_error(png, "read beyond end of data");
    memcpy(destination, decoder->data + decoder->offset, length);
    decoder->offset += length;
}

png_decoder *png_decode_open(const uint8_t *data, size_t size, png_decode_header *header,
                             char message[PNG_DECODE_MESSAGE_SIZE]) {
    png_decoder *decoder = calloc(1, sizeof *decoder);
    if (decoder == NULL) {
        set_message(message, "out of memory");
        return NULL;
    }
    decoder->data = data;
    decoder->size = size;
    decoder->message = message;
    decoder->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, decoder, on_error, on_warning);
    decoder->info = decoder->png != NULL ? png_create_info_struct(decoder->png) : NULL;
    if (decoder->info == NULL) {
        set_message(message, "libpng could not allocate its reader");
        png_decode_close(decoder);
        return NULL;
    }
    if (setjmp(png_jmpbuf(decoder->png))) {
        png_decode_close(decoder);
        return NULL;
    }
    png_structp png = decoder->png;
    png_infop info = decoder->info;
    png_set_read_fn(png, decoder, on_read);
    png_read_info(png, info);

    int color_type = png_get_color_type(png, info);
    int file_depth = png_get_bit_depth(png, info);
    header->file_pixel_bits = png_get_channels(png, info) * file_depth;
    header->interlaced = png_get_interlace_type(png, info) != PNG_INTERLACE_NONE;
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && file_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    png_set_strip_alpha(png);  // an alpha channel, or one a tRNS chunk would add; never composited
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (file_depth == 16) png_set_swap(png);
#endif
    decoder->passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);

    header->width = png_get_image_width(png, info);
    header->height = png_get_image_height(png, info);
    header->channels = png_get_channels(png, info);
    header->bit_depth = png_get_bit_depth(png, info);
    header->row_bytes = png_get_rowbytes(png, info);
    decoder->height = header->height;
    decoder->row_bytes = header->row_bytes;
    if ((header->channels != 1 && header->channels != 3) || (header->bit_depth != 8 && header->bit_depth != 16)
        || header->row_bytes != (size_t)header->width * (size_t)(header->channels * header->bit_depth / 8)) {
        snprintf(message, PNG_DECODE_MESSAGE_SIZE, "unexpected decoded layout: %d channels of %d bits, %zu bytes a row",
                 header->channels, header->bit_depth, header->row_bytes);
        png_decode_close(decoder);
        return NULL;
    }
    return decoder;
}

int png_decode_read(png_decoder *decoder, uint8_t *pixels, char message[PNG_DECODE_MESSAGE_SIZE]) {
    decoder->message = message;
    if (setjmp(png_jmpbuf(decoder->png))) return 0;
    // What png_read_image does, without its array of row pointers: each pass revisits every row.
    for (int pass = 0; pass < decoder->passes; pass++) {
        for (uint32_t y = 0; y < decoder->height; y++) png_read_row(decoder->png, pixels + y * decoder->row_bytes, NULL);
    }
    png_read_end(decoder->png, NULL);
    return 1;
}

void png_decode_close(png_decoder *decoder) {
    if (decoder == NULL) return;
    if (decoder->png != NULL) png_destroy_read_struct(&decoder->png, decoder->info != NULL ? &decoder->info : NULL, NULL);
    free(decoder);
}
