#include "fuzz_file.hpp"

#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>

namespace fuzz {

std::filesystem::path as_file(const uint8_t* data, size_t size, const char* extension) {
  static std::map<std::string, std::filesystem::path> paths;
  auto& p = paths[extension];
  if (p.empty())
    p = std::filesystem::temp_directory_path() /
        ("tessel-fuzz-" + std::to_string(getpid()) + "-input" + extension);
  FILE* f = std::fopen(p.c_str(), "wb");
  if (!f) __builtin_trap();
  if (size && std::fwrite(data, 1, size, f) != size) __builtin_trap();
  std::fclose(f);
  return p;
}

}  // namespace fuzz
