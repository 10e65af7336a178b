#pragma once
// Synthetic models of real size and shape with random weights, for
// benchmarks: values don't matter for speed, shapes and metadata do. The
// result is an F32 ModelFile in memory that quantize_model() (quantize.hpp)
// turns into any preset, with a valid tokenizer so any GGUF reader loads it.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tessel/tensor.hpp"

namespace tessel::synth {

struct Preset {
  std::string name;          // "tinyllama-1.1b"
  std::string arch;          // general.architecture
  int64_t n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx;
  std::string summary;
  bool tied = false;         // llama: tied output head and llama-3 RoPE (rope_freqs, base 5e5)
};

const std::vector<Preset>& presets();
// Applies "key=value,..." (n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff,
// n_vocab, n_ctx) to `p`, for small or unusual shapes of an architecture;
// throws tessel::Error naming a bad key or value.
void override_shape(Preset& p, const std::string& spec);
const Preset* find_preset(const std::string& name);
std::string preset_names();

// Builds the model: metadata (architecture keys, tokenizer) and F32 tensors
// drawn from a seeded generator (matrices ~ N(0, 1/sqrt(fan_in)), norms ~ 1).
// `progress(done, total)` is called after each tensor. Threads <= 0: all cores.
std::unique_ptr<ModelFile> make_model(const Preset& p, uint64_t seed, int threads,
                                      const std::function<void(size_t, size_t)>& progress = {});

}  // namespace tessel::synth
