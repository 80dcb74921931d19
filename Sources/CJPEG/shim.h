// libjpeg-turbo's TurboJPEG API (Debian libturbojpeg0-dev): errors come back as return codes, not longjmp.
#include <turbojpeg.h>
