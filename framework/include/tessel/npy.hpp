#pragma once
// .npy v1/v2 reading and writing (float32, float16, int32, uint8...), for
// `tessel logits`/`dump`, embedding-row input and golden-file tests.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace tessel {

struct NpyArray {
  std::string dtype;             // numpy descr without byte order: "f4", "f2", "i4", "u1", "i8"
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;    // C order, little-endian

  int64_t size() const;          // product of shape
  std::vector<float> as_floats() const;  // converts f4/f2/f8/integers; throws otherwise
};

// Throws tessel::Error naming the file and what is wrong.
NpyArray read_npy(const std::filesystem::path& path);
// Atomic: writes a temp file in the same folder, then renames.
void write_npy(const std::filesystem::path& path, const float* data, const std::vector<int64_t>& shape);
void write_npy(const std::filesystem::path& path, const NpyArray& arr);

// Writes `content` to `path` atomically (temp name + rename).
void write_file_atomic(const std::filesystem::path& path, const std::string& content);

}  // namespace tessel
