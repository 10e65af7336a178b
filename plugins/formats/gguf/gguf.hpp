#pragma once
// GGUF (llama.cpp's weight file format, v2 and v3): a bounded, validating
// reader over an mmap and a writer that lays files out exactly as ggml does,
// so read -> write reproduces the original bytes.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "tessel/format.hpp"

namespace tessel::gguf {

inline constexpr uint64_t kDefaultAlignment = 32;
inline constexpr uint32_t kWriteVersion = 3;

// Parses a whole GGUF image. Tensor spans point into `bytes`; the caller keeps
// them alive (sets ModelFile::storage). `source` names the file in errors.
std::unique_ptr<ModelFile> parse(std::span<const std::byte> bytes, const std::string& source);

// Maps `path` read-only and parses it; the mapping lives in ModelFile::storage.
std::unique_ptr<ModelFile> read_file(const std::filesystem::path& path);

// True when the file starts with the GGUF magic. Never throws.
bool has_magic(const std::filesystem::path& path);

// Alignment a writer uses for `meta`: general.alignment or 32. Throws when the
// value is not a positive power of two.
uint64_t alignment_of(const Metadata& meta, const std::string& source);

// Streams a GGUF image (header, key/values, tensor infos, aligned data) to
// `sink`. Validates everything before the first byte is emitted.
using Sink = std::function<void(const void* data, size_t n)>;
void serialize(const Metadata& meta, std::span<const TensorToWrite> tensors, const Sink& sink,
               const std::string& source);

// Writes atomically: a temp file in the same folder, then rename.
void write_file(const std::filesystem::path& path, const Metadata& meta,
                std::span<const TensorToWrite> tensors);

// Tensors of an opened file as writer input (views, no copies).
std::vector<TensorToWrite> tensors_to_write(const ModelFile& file);

class GgufFormat : public WeightFormat {
 public:
  bool can_open(const std::filesystem::path& path) const override;
  std::unique_ptr<ModelFile> open(const std::filesystem::path& path) const override;
  bool can_write() const override { return true; }
  void write(const std::filesystem::path& path, const Metadata& meta,
             std::span<const TensorToWrite> tensors) const override;
};

}  // namespace tessel::gguf
