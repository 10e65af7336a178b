#pragma once
// Synthetic models of real size and shape with random weights, for
// benchmarks and shape tests: values don't matter for speed, shapes and
// metadata do. The architecture plugins describe their presets and files
// (Architecture::synth_presets / synth_recipe); the core only draws the
// values: an F32 ModelFile in memory that quantize_model() (quantize.hpp)
// turns into any preset, with a valid tokenizer so any GGUF reader loads it.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tessel/architecture.hpp"
#include "tessel/registry.hpp"
#include "tessel/tensor.hpp"

namespace tessel::synth {

// A preset and the architecture plugin that offers it.
struct Found {
  std::shared_ptr<Architecture> arch;
  SynthPreset preset;
};

// Every preset of every architecture plugin in `reg`.
std::vector<Found> presets(Registry& reg);
// The preset called `name`; throws tessel::Error listing the names when none is.
Found find_preset(Registry& reg, const std::string& name);
std::string preset_names(Registry& reg);

// Applies "key=value,..." (n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff,
// n_vocab, n_ctx, tied) to `s`, for small or unusual shapes of an
// architecture; throws tessel::Error naming a bad key or value.
void override_shape(SynthShape& s, const std::string& spec);

// Builds the plugin's recipe for `f.preset`: its metadata and F32 tensors
// drawn from a seeded generator (matrices ~ N(0, 1/sqrt(fan_in)), norms ~ 1).
// `progress(done, total)` is called after each tensor. Threads <= 0: all cores.
std::unique_ptr<ModelFile> make_model(const Found& f, uint64_t seed, int threads,
                                      const std::function<void(size_t, size_t)>& progress = {});

}  // namespace tessel::synth
