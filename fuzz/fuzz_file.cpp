#include "fuzz_file.hpp"

#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>

namespace fuzz {

namespace {
// Memory-backed when the machine has /dev/shm: on a disk-backed /tmp the
// kernel's block I/O for one small file per execution took ~60 % of the npy
// target's time.
std::filesystem::path scratch_dir() {
  std::error_code ec;
  if (std::filesystem::is_directory("/dev/shm", ec) && access("/dev/shm", W_OK) == 0) return "/dev/shm";
  return std::filesystem::temp_directory_path();
}
}  // namespace

std::filesystem::path as_file(const uint8_t* data, size_t size, const char* extension) {
  static std::map<std::string, std::filesystem::path> paths;
  auto& p = paths[extension];
  if (p.empty()) p = scratch_dir() / ("tessel-fuzz-" + std::to_string(getpid()) + "-input" + extension);
  FILE* f = std::fopen(p.c_str(), "wb");
  if (!f) __builtin_trap();
  if (size && std::fwrite(data, 1, size, f) != size) __builtin_trap();
  std::fclose(f);
  return p;
}

}  // namespace fuzz
