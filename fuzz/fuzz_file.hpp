#pragma once
// Readers that take a path get the fuzz input through one scratch file per
// process (in /dev/shm if there is one, else TMPDIR), rewritten for every
// input.
#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace fuzz {
std::filesystem::path as_file(const uint8_t* data, size_t size, const char* extension);
}  // namespace fuzz
