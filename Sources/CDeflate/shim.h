// libdeflate (Debian libdeflate-dev): whole-buffer zlib decompression and CRC-32 for PNG's fast path.
#include <libdeflate.h>
