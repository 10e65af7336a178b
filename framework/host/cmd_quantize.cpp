// `tessel quantize IN.gguf OUT.gguf TYPE [--threads N]`: llama-quantize's
// presets with its per-tensor type choices (tessel/quantize.hpp) and ggml's
// reference rounding (the codec plugins), so the output matches
// llama-quantize tensor for tensor.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>
#include <thread>

#include "command.hpp"
#include "tessel/output_file.hpp"
#include "tessel/error.hpp"
#include "tessel/pipeline.hpp"
#include "tessel/progress.hpp"
#include "tessel/quantize_convert.hpp"

namespace {

struct Options {
  std::string input, output, type;
  int threads = 0;
  bool allow_requantize = false;
  bool pure = false;
  std::string output_type, token_embd_type;
};

// A tensor type named on the command line (--output-tensor-type q8_0) for
// the tensor(s) `tensor` names.
std::optional<tessel::TypeId> type_option(const std::string& value, const char* option, const char* tensor,
                                          const tessel::CodecSet& codecs) {
  using namespace tessel;
  if (value.empty()) return std::nullopt;
  const auto t = type_from_name(value);
  if (!t || !codecs.find(*t)) {
    std::string valid;
    for (TypeId c : codecs.types())
      if (c != TypeId::Q8_1 && c != TypeId::Q8_K) valid += (valid.empty() ? "" : ", ") + type_name(c);
    throw Error(std::string(option) + ": unknown or unsupported tensor type '" + value + "' for " + tensor +
                "; valid types: " + valid);
  }
  return t;
}

int run_quantize(const Options& o) {
  using namespace tessel;
  const quantize::Preset* preset = quantize::find_preset(o.type);
  if (!preset)
    throw Error("unknown quantization type '" + o.type + "'; valid types: " + quantize::preset_names());
  const int threads = o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()));

  auto reg = make_registry();
  auto file = open_model_file(*reg, o.input);
  check_not_an_input(o.output);  // before the work, not only at write time
  auto codecs = load_codecs(*reg);
  auto writer = writer_for(*reg);

  quantize::Overrides over;
  over.pure = o.pure;
  over.output_type = type_option(o.output_type, "--output-tensor-type", "output.weight", *codecs);
  over.token_embd_type = type_option(o.token_embd_type, "--token-embedding-type", "token_embd.weight", *codecs);

  tessel::Progress progress("quantize", file->tensors.size(), "tensors");
  auto conv = quantize::convert_model(
      *file, *preset, *codecs, threads, o.allow_requantize,
      [&](size_t done, size_t, const std::string& name) { progress.update(done, name); },
      [&](const std::string& warning) {
        progress.clear();
        std::cerr << "warning: " << warning << "\n";
      },
      over);
  progress.update(file->tensors.size(), "writing " + o.output);
  writer->write(o.output, conv.meta, conv.tensors);
  progress.finish();
  const auto& out = conv.tensors;
  const size_t bytes_in = conv.bytes_in, bytes_out = conv.bytes_out;

  std::printf("%s: %zu tensors, %.2f MiB -> %.2f MiB (%s)\n", o.output.c_str(), out.size(),
              double(bytes_in) / 1048576.0, double(bytes_out) / 1048576.0, std::string(preset->name).c_str());
  return 0;
}

tessel::host::Command quantize_cmd{
    "quantize", "Quantize a GGUF model as llama-quantize does (Q8_0, Q4_K_M, ...)", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("input", o->input, "Source model (F32, F16 or BF16 weights)")->required();
      app.add_option("output", o->output, "Where to write the quantized model")->required();
      app.add_option("type", o->type, "Preset: " + tessel::quantize::preset_names())->required();
      app.add_option("--threads,-t", o->threads, "Worker threads (default: all cores)");
      app.add_flag("--allow-requantize", o->allow_requantize, "Allow re-quantizing quantized tensors");
      app.add_flag("--pure", o->pure, "No k-quant mixture: every quantizable tensor gets the preset's type");
      app.add_option("--output-tensor-type", o->output_type, "Type for output.weight (e.g. q8_0)");
      app.add_option("--token-embedding-type", o->token_embd_type, "Type for token_embd.weight");
      return [o] { return run_quantize(*o); };
    }};

}  // namespace
