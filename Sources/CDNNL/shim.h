// oneDNN (Debian libdnnl-dev): its just-in-time SGEMM uses the CPU's widest vector units (AVX-512 where
// present), where the OpenBLAS of the same system may be limited to older kernels.
#include <dnnl.h>
// OpenMP (libgomp, which oneDNN is built with): RadProbe runs oneDNN single-threaded inside its own workers.
void omp_set_num_threads(int num_threads);
