// libpng (Debian libpng-dev): the simplified png_image read API.
#include <png.h>
