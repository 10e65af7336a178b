#pragma once
// The "embeddings" input adapter: raw embedding rows of width n_embd
// (llama_batch.embd) from .npy (f32/f16), raw f32 with params["shape"], or the
// JSON `tessel embed --pooling none --format json` writes.
#include <filesystem>
#include <memory>
#include <vector>

#include "tessel/input.hpp"

namespace tessel::inputs {

std::unique_ptr<InputAdapter> make_embeddings_adapter();

// Rows [n_rows, width] from a file; `shape` ("ROWS,WIDTH") is needed for raw
// f32 files. Throws tessel::Error naming the file.
struct Rows {
  std::vector<float> data;
  int64_t n_rows = 0, width = 0;
};
Rows read_rows(const std::filesystem::path& file, const std::string& shape = {});

}  // namespace tessel::inputs
