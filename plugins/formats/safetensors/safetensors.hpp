#pragma once
// Hugging Face checkpoints: safetensors files (one, or shards listed in
// model.safetensors.index.json) plus config.json and tokenizer.json in one
// folder. The reader validates every header before trusting an offset; the
// checkpoint is then presented as a ModelFile under GGUF's tensor names and
// metadata keys (the mapping tables in arch_*.cpp), so architectures see the
// same model whichever format it came in.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tessel/format.hpp"

namespace tessel::safetensors {

// One entry of a safetensors header. `begin`/`end` are relative to the data
// section, already checked against it and against the dtype and shape.
struct Entry {
  std::string name;
  std::string dtype;            // "F32", "BF16", ...
  std::vector<int64_t> shape;   // row-major, outermost first (HF order)
  uint64_t begin = 0, end = 0;
};

struct Header {
  std::vector<Entry> tensors;   // in header order
  uint64_t data_start = 0;      // 8 + header length
  std::map<std::string, std::string> metadata;  // "__metadata__"
};

// Bytes per element of a safetensors dtype; 0 when unknown.
size_t dtype_size(const std::string& dtype);

// Parses and validates the header of a whole safetensors image: header length
// inside the file, JSON well formed and bounded in depth, every dtype known,
// shape x dtype size = byte range, ranges inside the data section and not
// overlapping. Throws tessel::Error starting with `source`. This is also the
// fuzz entry point (any bytes either parse or throw).
Header parse_header(std::span<const std::byte> file, const std::string& source);

// A read-only mapping of a whole file, unmapped on destruction.
struct Mapping {
  const std::byte* data = nullptr;
  size_t size = 0;
  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping();
  std::span<const std::byte> bytes() const { return {data, size}; }
};
std::unique_ptr<Mapping> map_file(const std::filesystem::path& path);

// A tensor of the checkpoint under its Hugging Face name.
struct HfTensor {
  std::string name;
  TypeId type = TypeId::F32;
  std::vector<int64_t> shape;             // HF order
  std::span<const std::byte> data;
  std::string file;                        // shard path, for errors
};

// The checkpoint folder opened: config.json parsed, every shard mapped.
struct Checkpoint;
// The folder a path names: itself when a folder, the parent of a .safetensors file.
std::filesystem::path checkpoint_dir(const std::filesystem::path& path);
// True when `path` looks like a checkpoint (config.json and safetensors). Never throws.
bool looks_like_checkpoint(const std::filesystem::path& path);
// Opens the checkpoint as a GGUF-shaped ModelFile (names, metadata, tokenizer).
std::unique_ptr<ModelFile> open_checkpoint(const std::filesystem::path& path);

class SafetensorsFormat : public WeightFormat {
 public:
  bool can_open(const std::filesystem::path& path) const override { return looks_like_checkpoint(path); }
  std::unique_ptr<ModelFile> open(const std::filesystem::path& path) const override {
    return open_checkpoint(path);
  }
};

}  // namespace tessel::safetensors
