// `tessel convert DIR OUT.gguf [--type auto|F32|F16|BF16|Q8_0|<quantize preset>]`
//
// Writes the GGUF llama.cpp's convert_hf_to_gguf.py would write for a
// checkpoint any format plugin opens (names, shapes and metadata come from
// the format's mapping): 1-D tensors, norms, position and token-type
// embeddings and non-".weight" tensors stay F32, the rest take --type; "auto"
// is BF16 when the checkpoint's first matrix is BF16, else F16, as the
// converter guesses. A llama-quantize preset (Q4_K_M, ...) converts to F32 in
// memory and then quantizes as `tessel quantize` does.
#include <algorithm>
#include <cstdio>
#include <deque>
#include <thread>

#include "command.hpp"
#include "tessel/error.hpp"
#include "tessel/pipeline.hpp"
#include "tessel/progress.hpp"
#include "tessel/quantize_convert.hpp"

namespace {

using namespace tessel;

struct Options {
  std::string input, output, type = "auto", format = "auto";
  int threads = 0;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The converter's per-tensor rule (ModelBase.prepare_tensors).
TypeId converter_type(const TensorInfo& t, TypeId outtype) {
  if (t.n_dims <= 1 || ends_with(t.name, "_norm.weight")) return TypeId::F32;
  if (t.name == "position_embd.weight" || t.name == "token_types.weight" || !ends_with(t.name, ".weight"))
    return TypeId::F32;
  if (outtype == TypeId::Q8_0 && t.ne[0] % 32 != 0) return TypeId::F16;  // QuantError -> F16 fallback
  return outtype;
}

// llama_ftype of a converter outtype (general.file_type).
uint32_t file_type_of(TypeId t) {
  switch (t) {
    case TypeId::F32: return 0;
    case TypeId::F16: return 1;
    case TypeId::Q8_0: return 7;
    case TypeId::BF16: return 32;
    default: throw Error("no file type for " + type_name(t));
  }
}

TypeId guess_outtype(const ModelFile& f) {
  for (const auto& t : f.tensors) {
    if (t.n_dims < 2) continue;
    if (t.type == TypeId::BF16) return TypeId::BF16;
    if (t.type == TypeId::F16) return TypeId::F16;
  }
  return TypeId::F16;
}

// `src` re-encoded tensor by tensor into `outtype` under the converter's rule.
// The result views `buffers`, which the caller keeps alive.
std::unique_ptr<ModelFile> reencode(const ModelFile& src, TypeId outtype, const CodecSet& codecs,
                                    std::deque<std::vector<std::byte>>& buffers) {
  auto out = std::make_unique<ModelFile>();
  out->path = src.path;
  out->format = "gguf";
  out->meta = src.meta;
  out->meta.set("general.file_type", MetaValue::of_u32(file_type_of(outtype)));
  out->meta.set("general.quantization_version", MetaValue::of_u32(quantize::kQuantizationVersion));
  std::vector<float> row;
  Progress bar("convert to " + type_name(outtype), src.tensors.size(), "tensors");
  for (const auto& t : src.tensors) {
    bar.update(out->tensors.size(), t.name);
    TensorInfo o = t;
    o.type = converter_type(t, outtype);
    o.file_mapped = false;
    if (o.type != t.type) {
      const Codec& from = codecs.get(t.type, t.name);
      const Codec& to = codecs.get(o.type, t.name);
      auto& buf = buffers.emplace_back(row_bytes(o.type, t.ne[0]) * size_t(t.n_rows()));
      row.resize(size_t(t.ne[0]));
      for (int64_t r = 0; r < t.n_rows(); ++r) {
        from.to_float(t.row(r), row.data(), row.size());
        to.from_float(row.data(), buf.data() + size_t(r) * row_bytes(o.type, t.ne[0]), row.size());
      }
      o.data = buf;
    }
    out->tensors.push_back(std::move(o));
  }
  bar.update(out->tensors.size());
  bar.finish();
  out->build_index();
  return out;
}

// A checkpoint without tokenizer.json still converts: llama.cpp loads a
// vocabulary-less model ("none", as the converter's _set_vocab_none writes)
// when `<arch>.vocab_size` says how many token ids the embedding has.
void mark_no_vocabulary(ModelFile& file) {
  if (file.meta.has("tokenizer.ggml.model")) return;
  file.meta.set("tokenizer.ggml.model", MetaValue::of_string("none"));
  const std::string key = file.meta.get_string("general.architecture") + ".vocab_size";
  const TensorInfo* embd = file.find("token_embd.weight");
  if (!file.meta.has(key) && embd) file.meta.set(key, MetaValue::of_u32(uint32_t(embd->ne[1])));
}

int run_convert(const Options& o) {
  auto reg = make_registry();
  auto file = open_model_file(*reg, o.input, o.format);
  mark_no_vocabulary(*file);
  auto codecs = load_codecs(*reg);
  auto writer = writer_for(*reg);
  const int threads = o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()));

  std::string type = o.type;
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return char(std::toupper(c)); });
  std::deque<std::vector<std::byte>> buffers;
  std::unique_ptr<ModelFile> out;
  std::vector<TensorToWrite> tensors;
  if (type == "AUTO" || type == "F32" || type == "F16" || type == "BF16" || type == "Q8_0") {
    const TypeId t = type == "AUTO" ? guess_outtype(*file) : *type_from_name(type);
    out = reencode(*file, t, *codecs, buffers);
    for (const auto& ti : out->tensors) tensors.push_back({ti.name, ti.type, ti.n_dims, ti.ne, ti.data});
    writer->write(o.output, out->meta, tensors);
  } else {
    const quantize::Preset* preset = quantize::find_preset(type);
    if (!preset)
      throw Error("--type: unknown type '" + o.type + "'; valid: auto, F32, F16, BF16, Q8_0 or a preset (" +
                  quantize::preset_names() + ")");
    out = reencode(*file, TypeId::F32, *codecs, buffers);
    Progress bar("quantize to " + std::string(preset->name), out->tensors.size(), "tensors");
    auto conv = quantize::convert_model(*out, *preset, *codecs, threads, false,
                                        [&](size_t done, size_t, const std::string& name) { bar.update(done, name); });
    bar.update(out->tensors.size());
    bar.finish();
    writer->write(o.output, conv.meta, conv.tensors);
    tensors = conv.tensors;
  }
  std::printf("%s: %zu tensors from %s (%s)\n", o.output.c_str(), tensors.size(), o.input.c_str(),
              o.type.c_str());
  return 0;
}

tessel::host::Command convert_cmd{
    "convert", "Convert a Hugging Face checkpoint folder to GGUF as convert_hf_to_gguf.py does",
    [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("input", o->input, "Checkpoint folder (config.json, *.safetensors, tokenizer.json)")->required();
      app.add_option("output", o->output, "GGUF file to write")->required();
      app.add_option("--type,--outtype", o->type,
                     "auto (BF16 or F16 as the checkpoint), F32, F16, BF16, Q8_0, or a quantize preset (Q4_K_M...)");
      app.add_option("--format", o->format, "Format plugin of the input (default: auto)");
      app.add_option("--threads,-t", o->threads, "Worker threads for quantize presets (default: all cores)");
      return [o] { return run_convert(*o); };
    }};

}  // namespace
