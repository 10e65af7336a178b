#pragma once
// .npy v1/v2 reading and writing (float32, float16, int32, uint8...), for
// `tessel logits`/`dump`, embedding-row input and golden-file tests.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tessel/output_file.hpp"  // write_file_atomic

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
// Through an OutputFile: whole or not at all, devices streamed.
void write_npy(const std::filesystem::path& path, const float* data, const std::vector<int64_t>& shape);
void write_npy(const std::filesystem::path& path, const NpyArray& arr);

}  // namespace tessel
