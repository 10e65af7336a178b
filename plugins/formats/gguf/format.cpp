#include <algorithm>
#include <cctype>

#include "gguf.hpp"

namespace tessel::gguf {

// The magic decides; a file named *.gguf is also claimed so that a damaged
// one gets the reader's precise error instead of "no format recognises it".
bool GgufFormat::can_open(const std::filesystem::path& path) const {
  if (has_magic(path)) return true;
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
  return ext == ".gguf";
}

std::unique_ptr<ModelFile> GgufFormat::open(const std::filesystem::path& path) const {
  return read_file(path);
}

void GgufFormat::write(const std::filesystem::path& path, const Metadata& meta,
                       std::span<const TensorToWrite> tensors) const {
  write_file(path, meta, tensors);
}

}  // namespace tessel::gguf
