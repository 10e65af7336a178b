// Tokenizer throughput: encodes ~1 MB of text with each vocabulary and
// prints tokens/s and MB/s per tokenizer type.
//   build/bin/tokenizer-bench [VOCAB.gguf ...]   (default: every
//   $TESSEL_SHARED/models/vocab/*.gguf, text from its .inp suite)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tessel/config.hpp"
#include "tessel/error.hpp"
#include "tessel/pipeline.hpp"

namespace fs = std::filesystem;

static std::string large_text(const fs::path& model) {
  // The suite's cases are varied text (scripts, spaces, digits, code); repeat to ~1 MB.
  std::ifstream in(model.string() + ".inp", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string seed = ss.str();
  if (seed.empty()) seed = "The quick brown fox jumps over the lazy dog. 1234567890\n";
  std::string text;
  while (text.size() < (1u << 20)) text += seed;
  return text;
}

int main(int argc, char** argv) try {
  std::vector<fs::path> models;
  for (int i = 1; i < argc; ++i) models.emplace_back(argv[i]);
  if (models.empty()) {
    fs::path dir = fs::path(tessel::shared_dir_default()) / "models" / "vocab";
    if (!fs::is_directory(dir)) throw tessel::Error(dir.string() + ": not found (set TESSEL_SHARED)");
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".gguf") models.push_back(e.path());
    std::sort(models.begin(), models.end());
  }
  auto reg = tessel::make_registry();
  std::printf("| vocabulary | tokenizer | MB | tokens | tokens/s | MB/s |\n|---|---|---:|---:|---:|---:|\n");
  for (const auto& m : models) {
    auto file = tessel::open_model_file(*reg, m);
    auto tok = tessel::make_tokenizer(*reg, file);
    const std::string text = large_text(m);
    auto t0 = std::chrono::steady_clock::now();
    auto ids = tok->encode(text, {false, false});
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("| %s | %s | %.2f | %zu | %.0f | %.2f |\n", m.filename().string().c_str(),
                file->meta.get_string("tokenizer.ggml.model").c_str(), double(text.size()) / 1e6, ids.size(),
                double(ids.size()) / s, double(text.size()) / 1e6 / s);
    std::fflush(stdout);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "tokenizer-bench: error: %s\n", e.what());
  return 1;
}
