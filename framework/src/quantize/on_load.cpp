// Quantize on load (mistral.rs's "ISQ"): the opened model's weights are
// converted to a llama-quantize preset in memory, with the same per-tensor
// policy and codec rounding as `tessel quantize`, and handed on as an
// ordinary ModelFile. Nothing is written to disk.
#include <algorithm>
#include <memory>
#include <thread>

#include "tessel/error.hpp"
#include "tessel/pipeline.hpp"
#include "tessel/progress.hpp"
#include "tessel/quantize_convert.hpp"

namespace tessel {
namespace {

// Owns the converted buffers and keeps the source (whose mapping unconverted tensors view) alive.
struct QuantizedStorage {
  std::shared_ptr<ModelFile> source;
  quantize::Converted converted;
};

}  // namespace

std::shared_ptr<ModelFile> quantize_model_file(const std::shared_ptr<ModelFile>& file, const std::string& preset_name,
                                               const CodecSet& codecs, int threads) {
  const quantize::Preset* preset = quantize::find_preset(preset_name);
  if (!preset)
    throw Error(file->path.string() + ": model.quantize '" + preset_name + "' is not a preset (" +
                quantize::preset_names() + ")");
  auto storage = std::make_shared<QuantizedStorage>();
  storage->source = file;
  if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));  // 0: all cores
  // Quantizing a large model at load takes minutes: the shared progress line
  // (only when stderr is a terminal), tensor by tensor.
  Progress bar("load: quantize to " + preset_name, file->tensors.size(), "tensors");
  storage->converted = quantize::convert_model(
      *file, *preset, codecs, threads, false,
      [&](size_t done, size_t, const std::string& name) { bar.update(done, name); });
  bar.update(file->tensors.size());
  bar.finish();
  auto out = std::make_shared<ModelFile>();
  out->path = file->path;
  out->format = file->format;
  out->version = file->version;
  out->alignment = file->alignment;
  out->meta = storage->converted.meta;
  for (const auto& t : storage->converted.tensors) {
    const TensorInfo* src = file->find(t.name);
    TensorInfo ti;
    ti.name = t.name;
    ti.type = t.type;
    ti.n_dims = t.n_dims;
    ti.ne = t.ne;
    ti.data = t.data;
    // Copied-as-is tensors still view the source's mapping.
    ti.file_mapped = src && src->file_mapped && src->data.data() == t.data.data();
    out->tensors.push_back(std::move(ti));
  }
  out->build_index();
  out->storage = storage;
  return out;
}

std::shared_ptr<ModelFile> open_model(Registry& reg, const ModelSpec& spec, int threads) {
  auto file = open_model_file(reg, spec.path, spec.format);
  if (spec.quantize.empty()) return file;
  auto codecs = load_codecs(reg);
  // Converted bytes are plain memory: nothing made here needs the codec plugins afterwards.
  return quantize_model_file(file, spec.quantize, *codecs, threads);
}

}  // namespace tessel
