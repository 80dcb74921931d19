// zlib (Debian zlib1g-dev): gzip streams of .nii.gz files.
#include <zlib.h>
