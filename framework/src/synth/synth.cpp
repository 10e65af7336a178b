// tessel synth's core: finds a preset among the architecture plugins, applies
// --shape and draws the values of the tensors the plugin's recipe lists. It
// knows no architecture: the plugins describe their files.
#include "tessel/synth.hpp"

#include <cmath>
#include <cstdlib>

#include "tessel/error.hpp"
#include "tessel/threadpool.hpp"

namespace tessel::synth {

std::vector<Found> presets(Registry& reg) {
  std::vector<Found> all;
  for (const PluginInfo& info : reg.plugins_of("architecture")) {
    auto arch = reg.create<Architecture>("architecture", info.name);
    for (SynthPreset& p : arch->synth_presets()) all.push_back({arch, std::move(p)});
  }
  return all;
}

std::string preset_names(Registry& reg) {
  std::string s;
  for (const Found& f : presets(reg)) s += (s.empty() ? "" : ", ") + f.preset.name;
  return s;
}

Found find_preset(Registry& reg, const std::string& name) {
  for (Found& f : presets(reg))
    if (f.preset.name == name) return f;
  throw Error("unknown --preset '" + name + "'; presets: " + preset_names(reg));
}

void override_shape(SynthShape& p, const std::string& spec) {
  size_t at = 0;
  while (at < spec.size()) {
    size_t end = spec.find(',', at);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(at, end - at);
    at = end + 1;
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    int64_t* field = key == "n_embd" ? &p.n_embd : key == "n_layer" ? &p.n_layer
                   : key == "n_head" ? &p.n_head : key == "n_head_kv" ? &p.n_head_kv
                   : key == "head_dim" ? &p.head_dim : key == "n_ff" ? &p.n_ff
                   : key == "n_vocab" ? &p.n_vocab : key == "n_ctx" ? &p.n_ctx : nullptr;
    const std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (key == "tied" && (value == "0" || value == "1")) {
      p.tied = value == "1";
      continue;
    }
    if (!field || eq == std::string::npos)
      throw Error("--shape '" + item + "': expected key=value with key one of n_embd, n_layer, "
                  "n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx, tied (0 or 1)");
    char* stop = nullptr;
    const long long v = std::strtoll(value.c_str(), &stop, 10);
    if (value.empty() || *stop != '\0' || v < 1 || v > (1 << 24))
      throw Error("--shape " + key + "=" + value + ": expected a whole number from 1 to 16777216");
    *field = v;
  }
  if (p.n_head % p.n_head_kv != 0 || p.head_dim % 2 != 0)
    throw Error("--shape: n_head (" + std::to_string(p.n_head) + ") must be a multiple of n_head_kv (" +
                std::to_string(p.n_head_kv) + ") and head_dim (" + std::to_string(p.head_dim) + ") even");
}

namespace {

// splitmix64: a fast, seedable generator; each row gets its own stream so
// the result does not depend on the thread count.
inline uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

struct Buffer {
  std::vector<std::vector<float>> tensors;
};

}  // namespace

std::unique_ptr<ModelFile> make_model(const Found& f, uint64_t seed, int threads,
                                      const std::function<void(size_t, size_t)>& progress) {
  SynthRecipe recipe = f.arch->synth_recipe(f.preset);
  auto file = std::make_unique<ModelFile>();
  file->path = f.preset.name + "-synth.gguf";
  file->format = "gguf";
  file->version = 3;
  file->meta = std::move(recipe.meta);
  file->meta.source = file->path.string();
  const std::vector<SynthTensor>& specs = recipe.tensors;
  auto store = std::make_shared<Buffer>();
  store->tensors.resize(specs.size());
  ThreadPool pool(threads);
  for (size_t k = 0; k < specs.size(); ++k) {
    const SynthTensor& s = specs[k];
    int64_t n = 1;
    for (int64_t d : s.ne) n *= d;
    auto& data = store->tensors[k];
    data.resize(size_t(n));
    const int64_t ne0 = s.ne[0], rows = n / ne0;
    // Uniform with the variance of N(0, 1/fan_in): same magnitudes, cheaper to draw.
    const float half_width = std::sqrt(3.0f / float(ne0));
    const uint64_t tseed = mix(seed ^ mix(k + 1));
    pool.parallel_for(rows, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        uint64_t state = mix(tseed + uint64_t(r));
        float* row = data.data() + r * ne0;
        for (int64_t i = 0; i < ne0; ++i) {
          state = mix(state);
          const float u = float(state >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f;  // [-1, 1)
          row[i] = s.fill == SynthTensor::Fill::matrix ? u * half_width
                   : s.fill == SynthTensor::Fill::norm ? 1.0f + 0.1f * u
                   : s.fill == SynthTensor::Fill::bias ? 0.25f * u
                                                       : 0.0f;
        }
      }
    });
    TensorInfo t;
    t.name = s.name;
    t.type = TypeId::F32;
    t.n_dims = int(s.ne.size());
    for (size_t d = 0; d < s.ne.size(); ++d) t.ne[d] = s.ne[d];
    t.data = std::span<const std::byte>(reinterpret_cast<const std::byte*>(data.data()), data.size() * 4);
    file->tensors.push_back(t);
    if (progress) progress(k + 1, specs.size());
  }
  file->storage = store;
  file->build_index();
  return file;
}

}  // namespace tessel::synth
