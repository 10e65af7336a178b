#pragma once
// Named, typed, shaped bytes. Weights are zero-copy views into the mapped file.
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "tessel/metadata.hpp"
#include "tessel/types.hpp"

namespace tessel {

// ggml order: ne[0] is the contiguous (row) length, ne[1] the number of rows...
struct TensorInfo {
  std::string name;
  TypeId type = TypeId::F32;
  int n_dims = 1;
  std::array<int64_t, 4> ne{1, 1, 1, 1};
  uint64_t offset = 0;                 // from the start of the data section
  std::span<const std::byte> data;     // the tensor's bytes
  // data lies in a read-only private mapping of the file: its pages can be
  // dropped (and are re-read from the page cache if touched again).
  bool file_mapped = false;

  int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  int64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
  size_t row_size() const { return row_bytes(type, ne[0]); }
  const std::byte* row(int64_t r) const { return data.data() + size_t(r) * row_size(); }
  std::string shape_string() const;   // "[256, 512]"
};

// What a weight format returns. Owns (or keeps alive) the mapped bytes.
class ModelFile {
 public:
  virtual ~ModelFile() = default;

  std::filesystem::path path;
  std::string format;            // "gguf"
  uint32_t version = 0;
  uint64_t alignment = 32;
  uint64_t data_offset = 0;      // where tensor data starts in the file
  Metadata meta;
  std::vector<TensorInfo> tensors;

  const TensorInfo* find(std::string_view name) const;
  const TensorInfo& get(std::string_view name) const;  // throws naming file and tensor
  void build_index();                                  // after filling `tensors`

  std::shared_ptr<const void> storage;                 // mmap or buffer keep-alive

 private:
  std::unordered_map<std::string, size_t> by_name_;
};

// A tensor handed to a writer: bytes already encoded in `type`.
struct TensorToWrite {
  std::string name;
  TypeId type = TypeId::F32;
  int n_dims = 1;
  std::array<int64_t, 4> ne{1, 1, 1, 1};
  std::span<const std::byte> data;
};

}  // namespace tessel
