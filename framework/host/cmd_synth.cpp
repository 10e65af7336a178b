// `tessel synth --arch A --preset P --type T -o OUT.gguf [--seed S]`: a model
// of real size and shape with random weights, for benchmarks.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "command.hpp"
#include "tessel/error.hpp"
#include "tessel/pipeline.hpp"
#include "tessel/quantize_convert.hpp"
#include "tessel/synth.hpp"

namespace {

struct Options {
  std::string arch, preset, type = "F32", output, shape;
  uint64_t seed = 42;
  int threads = 0;
};

void bar(const char* what, size_t done, size_t total) {
  if (!isatty(STDERR_FILENO)) return;
  const int width = 30, filled = int(width * done / std::max<size_t>(total, 1));
  std::fprintf(stderr, "\r%-10s [%s%s] %zu/%zu", what, std::string(size_t(filled), '=').c_str(),
               std::string(size_t(width - filled), ' ').c_str(), done, total);
  if (done == total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

int run_synth(const Options& o) {
  using namespace tessel;
  const synth::Preset* found = synth::find_preset(o.preset);
  if (!found) throw Error("unknown --preset '" + o.preset + "'; presets: " + synth::preset_names());
  synth::Preset shaped = *found;
  if (!o.shape.empty()) synth::override_shape(shaped, o.shape);
  const synth::Preset* p = &shaped;
  if (!o.arch.empty() && o.arch != p->arch)
    throw Error("--preset " + p->name + " is a " + p->arch + " model, not --arch " + o.arch);
  const bool f32 = o.type == "F32" || o.type == "f32";
  const quantize::Preset* qp = f32 ? nullptr : quantize::find_preset(o.type);
  if (!f32 && !qp) throw Error("unknown --type '" + o.type + "'; valid: F32, " + quantize::preset_names());

  auto reg = make_registry();
  auto writer = writer_for(*reg);
  auto model = synth::make_model(*p, o.seed, o.threads, [](size_t d, size_t t) { bar("weights", d, t); });
  if (f32) {
    std::vector<TensorToWrite> tensors;
    for (const auto& t : model->tensors) tensors.push_back({t.name, t.type, t.n_dims, t.ne, t.data});
    writer->write(o.output, model->meta, tensors);
  } else {
    auto codecs = load_codecs(*reg);
    auto conv = quantize::convert_model(*model, *qp, *codecs, o.threads, false,
                                        [](size_t d, size_t t, const std::string&) { bar("quantize", d, t); });
    bar("quantize", 1, 1);
    conv.meta.set("general.name", MetaValue::of_string(p->name + "-synth-" + std::string(qp->name)));
    writer->write(o.output, conv.meta, conv.tensors);
  }
  std::printf("%s: %s (%s), %s\n", o.output.c_str(), p->name.c_str(), p->arch.c_str(), o.type.c_str());
  return 0;
}

tessel::host::Command synth_cmd{
    "synth", "Write a random-weight model of a real shape (for benchmarks)", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("--arch", o->arch, "Architecture (checked against the preset)");
      app.add_option("--preset", o->preset, "Shape: " + tessel::synth::preset_names())->required();
      app.add_option("--shape", o->shape,
                     "Change the preset's shape: key=value,... (n_embd, n_layer, n_head, n_head_kv, "
                     "head_dim, n_ff, n_vocab, n_ctx)");
      app.add_option("--type", o->type, "F32 or a quantize preset (Q8_0, Q4_0, Q4_K_M, F16, ...)");
      app.add_option("-o,--output", o->output, "Output .gguf")->required();
      app.add_option("--seed", o->seed, "Random seed");
      app.add_option("-t,--threads", o->threads, "Threads (default: all cores)");
      return [o] { return run_synth(*o); };
    }};

}  // namespace
