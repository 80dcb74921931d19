// Declarations only: libFuzzer itself (linked by -sanitize=fuzzer) defines LLVMFuzzerMutate.
#include "LibFuzzerHooks.h"
