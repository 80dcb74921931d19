// Declares the CBLAS interface of OpenBLAS (Debian libopenblas-dev).
#include <cblas.h>
