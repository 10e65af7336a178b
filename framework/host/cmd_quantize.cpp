// `tessel quantize IN.gguf OUT.gguf TYPE [--threads N]`: llama-quantize's
// presets with its per-tensor type choices (tessel/quantize.hpp) and ggml's
// reference rounding (the codec plugins), so the output matches
// llama-quantize tensor for tensor.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>
#include <thread>

#include "command.hpp"
#include "tessel/error.hpp"
#include "tessel/pipeline.hpp"
#include "tessel/quantize.hpp"

namespace {

struct Options {
  std::string input, output, type;
  int threads = 0;
  bool allow_requantize = false;
  bool pure = false;
  std::string output_type, token_embd_type;
};

// A tensor type named on the command line (--output-tensor-type q8_0).
std::optional<tessel::TypeId> type_option(const std::string& value, const char* option,
                                          const tessel::CodecSet& codecs) {
  using namespace tessel;
  if (value.empty()) return std::nullopt;
  const auto t = type_from_name(value);
  if (!t || !codecs.find(*t)) {
    std::string valid;
    for (TypeId c : codecs.types())
      if (c != TypeId::Q8_1 && c != TypeId::Q8_K) valid += (valid.empty() ? "" : ", ") + type_name(c);
    throw Error(std::string(option) + ": unknown or unsupported tensor type '" + value + "'; valid types: " + valid);
  }
  return t;
}

// ggml's GGML_QNT_VERSION: the layout version of the quantized blocks.
constexpr uint32_t kQuantizationVersion = 2;

class Progress {
 public:
  Progress(size_t total) : total_(total), tty_(isatty(STDERR_FILENO) != 0) {}
  void step(size_t done, const std::string& name) const {
    if (!tty_) return;
    const int width = 30, filled = int(width * done / std::max<size_t>(total_, 1));
    std::fprintf(stderr, "\r[%s%s] %zu/%zu %-40.40s", std::string(size_t(filled), '=').c_str(),
                 std::string(size_t(width - filled), ' ').c_str(), done, total_, name.c_str());
    std::fflush(stderr);
  }
  void finish() const {
    if (tty_) std::fprintf(stderr, "\r%*s\r", 80, "");
  }

 private:
  size_t total_;
  bool tty_;
};

// Runs f(row_begin, row_end) over [0, rows) on up to `threads` threads.
template <class F>
void parallel_rows(int64_t rows, int threads, F f) {
  const int64_t n = std::max<int64_t>(1, std::min<int64_t>(threads, rows));
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < n; ++t) pool.emplace_back(f, rows * t / n, rows * (t + 1) / n);
  f(int64_t(0), rows / n);
  for (auto& th : pool) th.join();
}

int run_quantize(const Options& o) {
  using namespace tessel;
  const quantize::Preset* preset = quantize::find_preset(o.type);
  if (!preset)
    throw Error("unknown quantization type '" + o.type + "'; valid types: " + quantize::preset_names());
  const int threads = o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()));

  auto reg = make_registry();
  auto file = open_model_file(*reg, o.input);
  auto codecs = load_codecs(*reg);
  auto writer = writer_for(*reg);

  std::vector<const TensorInfo*> ordered;
  for (size_t i : quantize::tensor_order(file->tensors)) ordered.push_back(&file->tensors[i]);
  quantize::Overrides over;
  over.pure = o.pure;
  over.output_type = type_option(o.output_type, "--output-tensor-type", *codecs);
  over.token_embd_type = type_option(o.token_embd_type, "--token-embedding-type", *codecs);
  const auto choices = quantize::choose_types(*preset, quantize::model_info(file->meta), ordered, over);

  std::vector<TensorToWrite> out;
  std::vector<std::vector<std::byte>> buffers;  // owns every converted tensor
  buffers.reserve(ordered.size());
  Progress progress(ordered.size());
  size_t bytes_in = 0, bytes_out = 0;
  for (size_t k = 0; k < ordered.size(); ++k) {
    const TensorInfo& t = *ordered[k];
    const quantize::Choice& ch = choices[k];
    progress.step(k, t.name);
    if (!ch.warning.empty()) {
      progress.finish();
      std::cerr << "warning: " << ch.warning << "\n";
    }
    TensorToWrite w{t.name, ch.type, t.n_dims, t.ne, t.data};
    if (ch.quantize) {
      const bool from_quantized = type_traits(t.type)->block_elems > 1;
      if (from_quantized && !o.allow_requantize)
        throw Error("tensor " + t.name + " is already " + type_name(t.type) +
                    "; requantizing loses precision (pass --allow-requantize to do it anyway)");
      const Codec& src = codecs->get(t.type, t.name);
      const Codec& dst = codecs->get(ch.type, t.name);
      const int64_t ne0 = t.ne[0], rows = t.n_rows();
      const size_t dst_row = row_bytes(ch.type, ne0), src_row = t.row_size();
      auto& buf = buffers.emplace_back(size_t(rows) * dst_row);
      parallel_rows(rows, threads, [&](int64_t r0, int64_t r1) {
        std::vector<float> tmp(static_cast<size_t>(ne0));
        for (int64_t r = r0; r < r1; ++r) {
          const float* x = reinterpret_cast<const float*>(t.row(r));
          if (t.type != TypeId::F32) {
            src.to_float(t.data.data() + size_t(r) * src_row, tmp.data(), size_t(ne0));
            x = tmp.data();
          }
          dst.from_float(x, buf.data() + size_t(r) * dst_row, size_t(ne0));
        }
      });
      w.data = buf;
    }
    bytes_in += t.data.size();
    bytes_out += w.data.size();
    out.push_back(w);
  }
  progress.step(ordered.size(), "writing " + o.output);

  // llama-quantize copies every key, then re-sets these two (which moves them last).
  Metadata meta = file->meta;
  for (const char* k : {"split.no", "split.count", "split.tensors.count", "general.quantization_version",
                        "general.file_type"})
    meta.erase(k);
  meta.set("general.quantization_version", MetaValue::of_u32(kQuantizationVersion));
  meta.set("general.file_type", MetaValue::of_u32(preset->ftype));
  writer->write(o.output, meta, out);
  progress.finish();

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
