#include "tessel/pipeline.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "tessel/error.hpp"
#include "tessel/half.hpp"
#include "tessel/output_file.hpp"

namespace tessel {

std::shared_ptr<Registry> make_registry(const std::vector<std::filesystem::path>& extra) {
  auto reg = std::make_shared<Registry>();
  for (const auto& p : extra) reg->add_search_path(p);
  reg->discover();
  return reg;
}

std::shared_ptr<ModelFile> open_model_file(Registry& reg, const std::filesystem::path& path,
                                           const std::string& format) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(path.string() + ": no such file");
  // A FIFO or device as the model would block forever or never end (a folder
  // may be a checkpoint: the format plugins decide below).
  if (!std::filesystem::is_directory(path, ec) && !std::filesystem::is_regular_file(path, ec))
    throw Error(path.string() + ": not a regular file (a FIFO or device?), expected a model file");
  note_input(path);
  std::shared_ptr<WeightFormat> fmt;
  if (format != "auto") {
    fmt = reg.create<WeightFormat>("format", format);
  } else {
    for (const auto& info : reg.plugins_of("format")) {
      auto candidate = reg.create<WeightFormat>("format", info.name);
      if (candidate->can_open(path)) { fmt = candidate; break; }
    }
    // A folder is a model only when some format claims it (a Hugging Face checkpoint).
    if (!fmt && std::filesystem::is_directory(path, ec))
      throw Error(path.string() + ": is a directory, and no format plugin recognises it "
                  "(a checkpoint folder needs config.json and *.safetensors)");
    if (!fmt) throw Error(path.string() + ": no format plugin recognises this file (is it a GGUF file?)");
  }
  std::unique_ptr<ModelFile> file = fmt->open(path);
  // The file's mapping may be owned by plugin code: keep the plugin alive with it.
  return std::shared_ptr<ModelFile>(file.release(), [fmt](ModelFile* f) { delete f; });
}

std::shared_ptr<WeightFormat> writer_for(Registry& reg, const std::string& format) {
  auto fmt = reg.create<WeightFormat>("format", format);
  if (!fmt->can_write()) throw Error("format plugin '" + format + "' cannot write files");
  return fmt;
}

std::shared_ptr<Tokenizer> make_tokenizer(Registry& reg, const std::shared_ptr<ModelFile>& file,
                                          const std::string& name) {
  std::string plugin = name;
  if (name == "auto") {
    std::string model = file->meta.get_string("tokenizer.ggml.model");
    const PluginInfo* info = reg.find_handler("tokenizer", model);
    if (!info) {
      std::string known;
      for (const auto& p : reg.plugins_of("tokenizer"))
        for (const auto& h : p.handles) known += (known.empty() ? "" : ", ") + h;
      throw Error(file->path.string() + ": tokenizer.ggml.model '" + model +
                  "' has no tokenizer plugin (known: " + (known.empty() ? "none" : known) + ")");
    }
    plugin = info->name;
  }
  auto factory = reg.create<TokenizerFactory>("tokenizer", plugin);
  std::unique_ptr<Tokenizer> tok = factory->create(*file);
  return std::shared_ptr<Tokenizer>(tok.release(), [factory, file](Tokenizer* t) { delete t; });
}

std::shared_ptr<CodecSet> load_codecs(Registry& reg) {
  auto set = std::make_shared<CodecSet>();
  for (const auto& info : reg.plugins_of("codec")) {
    auto provider = reg.create<CodecProvider>("codec", info.name);
    for (const Codec* c : provider->codecs()) set->add(c);
    set->owners.push_back(provider);
  }
  return set;
}

namespace {

// Norm weights and biases are small float tensors, and a NaN in one spreads
// through every activation; the quantized matmuls then launder it into
// finite garbage (a stream of one token, exit 0). Checking them is cheap:
// float tensors up to 2^20 values (large float matrices are left alone).
void check_small_float_tensors(const ModelFile& file) {
  for (const TensorInfo& t : file.tensors) {
    if ((t.type != TypeId::F32 && t.type != TypeId::F16) || t.n_elements() > (int64_t(1) << 20)) continue;
    const size_t n = std::min<size_t>(size_t(t.n_elements()), t.data.size() / (t.type == TypeId::F32 ? 4 : 2));
    for (size_t i = 0; i < n; ++i) {
      float v;
      if (t.type == TypeId::F32) {
        std::memcpy(&v, t.data.data() + 4 * i, 4);
      } else {
        uint16_t h;
        std::memcpy(&h, t.data.data() + 2 * i, 2);
        v = fp16_to_fp32(h);
      }
      if (!std::isfinite(v))
        throw Error(file.path.string() + ": tensor '" + t.name + "' holds a non-finite value (" + std::to_string(v) +
                    ") at element " + std::to_string(i));
    }
  }
}

}  // namespace

std::shared_ptr<Model> load_model(Registry& reg, const std::shared_ptr<ModelFile>& file,
                                  const std::shared_ptr<CodecSet>& codecs,
                                  const RuntimeOptions& opts, const std::string& name) {
  std::string plugin = name;
  if (name == "auto") {
    std::string arch = file->meta.get_string("general.architecture");
    const PluginInfo* info = reg.find_handler("architecture", arch);
    if (!info) {
      std::string known;
      for (const auto& p : reg.plugins_of("architecture"))
        for (const auto& h : p.handles) known += (known.empty() ? "" : ", ") + h;
      throw Error(file->path.string() + ": general.architecture '" + arch +
                  "' has no architecture plugin (known: " + (known.empty() ? "none" : known) + ")");
    }
    plugin = info->name;
  }
  check_small_float_tensors(*file);
  auto archp = reg.create<Architecture>("architecture", plugin);
  std::unique_ptr<Model> model = archp->load(*file, *codecs, opts);
  // The model holds views into the file and codecs: keep them and the plugin alive.
  return std::shared_ptr<Model>(model.release(), [archp, file, codecs](Model* m) { delete m; });
}

}  // namespace tessel
