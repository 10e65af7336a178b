// `tessel synth --arch A --preset P --type T -o OUT.gguf [--seed S]`: a model
// of real size and shape with random weights, for benchmarks. The presets and
// files come from the architecture plugins (`tessel synth --list`).
#include <cstdio>
#include <iostream>
#include <optional>

#include "command.hpp"
#include "tessel/error.hpp"
#include "tessel/pipeline.hpp"
#include "tessel/progress.hpp"
#include "tessel/quantize_convert.hpp"
#include "tessel/synth.hpp"

namespace {

struct Options {
  std::string arch, preset, type = "F32", output, shape;
  uint64_t seed = 42;
  int threads = 0;
  bool list = false;
};

int run_synth(const Options& o) {
  using namespace tessel;
  auto reg = make_registry();
  if (o.list) {
    for (const synth::Found& f : synth::presets(*reg))
      std::printf("%-22s %-16s %s\n", f.preset.name.c_str(), f.preset.arch.c_str(), f.preset.summary.c_str());
    return 0;
  }
  if (o.preset.empty()) throw Error("synth: --preset is required (tessel synth --list names them)");
  if (o.output.empty()) throw Error("synth: --output is required");
  synth::Found found = synth::find_preset(*reg, o.preset);
  if (!o.shape.empty()) synth::override_shape(found.preset.shape, o.shape);
  const SynthPreset* p = &found.preset;
  if (!o.arch.empty() && o.arch != p->arch)
    throw Error("--preset " + p->name + " is a " + p->arch + " model, not --arch " + o.arch);
  const bool f32 = o.type == "F32" || o.type == "f32";
  const quantize::Preset* qp = f32 ? nullptr : quantize::find_preset(o.type);
  if (!f32 && !qp) throw Error("unknown --type '" + o.type + "'; valid: F32, " + quantize::preset_names());

  auto writer = writer_for(*reg);
  std::optional<Progress> weights;
  auto model = synth::make_model(found, o.seed, o.threads, [&](size_t d, size_t t) {
    if (!weights) weights.emplace("weights", t, "tensors");
    weights->update(d);
  });
  if (weights) weights->finish();
  if (f32) {
    std::vector<TensorToWrite> tensors;
    for (const auto& t : model->tensors) tensors.push_back({t.name, t.type, t.n_dims, t.ne, t.data});
    writer->write(o.output, model->meta, tensors);
  } else {
    auto codecs = load_codecs(*reg);
    Progress progress("quantize", model->tensors.size(), "tensors");
    auto conv = quantize::convert_model(*model, *qp, *codecs, o.threads, false,
                                        [&](size_t d, size_t, const std::string& name) { progress.update(d, name); });
    progress.finish();
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
      app.add_option("--preset", o->preset, "Shape preset of an architecture plugin (see --list)");
      app.add_flag("--list", o->list, "List the presets the architecture plugins offer");
      app.add_option("--shape", o->shape,
                     "Change the preset's shape: key=value,... (n_embd, n_layer, n_head, n_head_kv, "
                     "head_dim, n_ff, n_vocab, n_ctx, tied=0|1)");
      app.add_option("--type", o->type, "F32 or a quantize preset (Q8_0, Q4_0, Q4_K_M, F16, ...)");
      app.add_option("-o,--output", o->output, "Output .gguf");
      app.add_option("--seed", o->seed, "Random seed");
      app.add_option("-t,--threads", o->threads, "Threads (default: all cores)");
      return [o] { return run_synth(*o); };
    }};

}  // namespace
