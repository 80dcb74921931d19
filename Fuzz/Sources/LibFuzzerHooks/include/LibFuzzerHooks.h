#ifndef LIBFUZZER_HOOKS_H
#define LIBFUZZER_HOOKS_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's built-in mutator: mutates `data[0..<size]` in place, at most to `maxSize` bytes, and
/// returns the new size. Custom mutators (`LLVMFuzzerCustomMutator`) call it, then repair the result.
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t maxSize);

#endif
