// A Hugging Face checkpoint folder opened as a GGUF-shaped ModelFile: shards
// mapped and validated, tensors renamed and (where llama.cpp's converter
// changes bytes) materialised, config.json turned into `<arch>.*` keys and
// tokenizer.json into `tokenizer.*` keys.
#include <algorithm>
#include <deque>
#include <set>
#include <unordered_map>

#include "mapping.hpp"
#include "safetensors.hpp"
#include "tessel/error.hpp"
#include "tessel/half.hpp"
#include "tessel/hf_tokenizer.hpp"
#include "tessel/json_file.hpp"

namespace tessel::safetensors {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// What keeps a checkpoint's bytes alive: the shard mappings and the tensors
// that had to be rewritten.
struct Storage {
  std::vector<std::unique_ptr<Mapping>> maps;
  std::deque<std::vector<std::byte>> owned;
};

// The shards to read, from the index when there is one.
struct ShardPlan {
  std::vector<fs::path> files;
  std::unordered_map<std::string, std::string> weight_map;  // tensor -> shard file name
  fs::path index;
};

ShardPlan plan_shards(const fs::path& dir) {
  ShardPlan plan;
  const fs::path index = dir / "model.safetensors.index.json";
  if (fs::exists(index)) {
    plan.index = index;
    const json j = read_json_file(index);
    if (!j.contains("weight_map") || !j["weight_map"].is_object())
      throw Error(index.string() + ": missing key 'weight_map' (tensor name -> shard file)");
    std::set<std::string> shards;
    for (const auto& [name, file] : j["weight_map"].items()) {
      if (!file.is_string()) throw Error(index.string() + ": weight_map['" + name + "'] is not a file name");
      const std::string f = file.get<std::string>();
      if (f.empty() || f.find('/') != std::string::npos || f == "." || f == "..")
        throw Error(index.string() + ": weight_map['" + name + "'] = '" + f + "' is not a file name in the folder");
      plan.weight_map[name] = f;
      shards.insert(f);
    }
    for (const auto& f : shards) {
      if (!fs::exists(dir / f)) {
        std::string example;
        for (const auto& [n, s] : plan.weight_map)
          if (s == f) { example = n; break; }
        throw Error(index.string() + ": shard '" + f + "' (holding '" + example + "') is missing from " + dir.string());
      }
      plan.files.push_back(dir / f);
    }
    return plan;
  }
  if (fs::exists(dir / "model.safetensors")) {
    plan.files.push_back(dir / "model.safetensors");
    return plan;
  }
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".safetensors") plan.files.push_back(e.path());
  std::sort(plan.files.begin(), plan.files.end());
  if (plan.files.empty()) throw Error(dir.string() + ": no *.safetensors file and no model.safetensors.index.json");
  return plan;
}

std::optional<TypeId> type_of(const std::string& dtype) {
  if (dtype == "F32") return TypeId::F32;
  if (dtype == "F16") return TypeId::F16;
  if (dtype == "BF16") return TypeId::BF16;
  return std::nullopt;
}

std::vector<float> to_floats(const HfTensor& t) {
  const size_t n = t.data.size() / (t.type == TypeId::F32 ? 4 : 2);
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) {
    if (t.type == TypeId::F32) {
      std::memcpy(&v[i], t.data.data() + 4 * i, 4);
    } else {
      uint16_t h;
      std::memcpy(&h, t.data.data() + 2 * i, 2);
      v[i] = t.type == TypeId::F16 ? fp16_to_fp32(h) : bf16_to_fp32(h);
    }
  }
  return v;
}

bool skipped(const ArchMapping& m, const std::string& name) {
  std::string layer;
  for (const auto& p : m.skipped) {
    if (p.size() > 2 && p.compare(p.size() - 2, 2, ".*") == 0) {
      if (name.compare(0, p.size() - 1, p, 0, p.size() - 1) == 0) return true;
    } else if (match_pattern(p, name, layer)) {
      return true;
    }
  }
  return false;
}

std::string substitute(std::string pattern, const std::string& layer) {
  const size_t at = pattern.find("{N}");
  if (at != std::string::npos) pattern.replace(at, 3, layer);
  return pattern;
}

// sentence-transformers checkpoints say how to pool in modules.json -> <Pooling>/config.json.
void pooling_from_modules(const fs::path& dir, const std::string& arch, Metadata& meta) {
  const fs::path modules = dir / "modules.json";
  if (!fs::exists(modules)) return;
  const json mods = read_json_file(modules);
  if (!mods.is_array()) return;
  for (const auto& mod : mods) {
    if (!mod.is_object() || !mod.contains("type") || !mod["type"].is_string() || !mod.contains("path") ||
        !mod["path"].is_string())
      continue;
    const std::string type = mod["type"].get<std::string>();
    if (type.size() < 7 || type.compare(type.size() - 7, 7, "Pooling") != 0) continue;
    const json p = read_json_file(dir / mod["path"].get<std::string>() / "config.json");
    uint32_t kind = 0;
    if (p.value("pooling_mode_mean_tokens", false)) kind = 1;
    else if (p.value("pooling_mode_cls_token", false)) kind = 2;
    else if (p.value("pooling_mode_lasttoken", false)) kind = 3;
    if (kind) meta.set(arch + ".pooling_type", MetaValue::of_u32(kind));
    return;
  }
}

}  // namespace

fs::path checkpoint_dir(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return path;
  return path.parent_path().empty() ? fs::path(".") : path.parent_path();
}

bool looks_like_checkpoint(const fs::path& path) {
  std::error_code ec;
  const bool is_dir = fs::is_directory(path, ec);
  if (!is_dir && path.extension() != ".safetensors") return false;
  const fs::path dir = checkpoint_dir(path);
  if (!fs::exists(dir / "config.json", ec)) return false;
  if (!is_dir) return true;
  if (fs::exists(dir / "model.safetensors", ec) || fs::exists(dir / "model.safetensors.index.json", ec)) return true;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".safetensors") return true;
  return false;
}

std::unique_ptr<ModelFile> open_checkpoint(const fs::path& path) {
  const fs::path dir = checkpoint_dir(path);
  const fs::path config_path = dir / "config.json";
  if (!fs::exists(config_path)) throw Error(config_path.string() + ": no such file (a checkpoint folder needs config.json)");
  const Config cfg(read_json_file(config_path), config_path.string());
  const ArchMapping& mapping = mapping_for(cfg);

  auto storage = std::make_shared<Storage>();
  auto file = std::make_unique<ModelFile>();
  file->path = dir;
  file->format = "safetensors";
  Metadata& meta = file->meta;
  meta.source = dir.string();
  meta.set("general.architecture", MetaValue::of_string(mapping.gguf_arch));
  meta.set("general.name", MetaValue::of_string(fs::absolute(dir).lexically_normal().filename().string()));
  mapping.hparams(cfg, meta);
  pooling_from_modules(dir, mapping.gguf_arch, meta);

  // Every tensor of every shard, checked against the index.
  const ShardPlan plan = plan_shards(dir);
  std::vector<HfTensor> hf;
  std::unordered_map<std::string, std::string> seen;  // name -> shard
  for (const auto& shard : plan.files) {
    auto map = map_file(shard);
    const Header h = parse_header(map->bytes(), shard.string());
    for (const auto& e : h.tensors) {
      if (auto it = seen.find(e.name); it != seen.end())
        throw Error(shard.string() + ": tensor '" + e.name + "' is also in " + it->second);
      seen.emplace(e.name, shard.string());
      if (!plan.index.empty()) {
        auto w = plan.weight_map.find(e.name);
        if (w == plan.weight_map.end() || w->second != shard.filename().string())
          throw Error(plan.index.string() + ": tensor '" + e.name + "' is in " + shard.filename().string() +
                      " but weight_map " + (w == plan.weight_map.end() ? "does not list it" : "names " + w->second));
      }
      HfTensor t;
      t.name = e.name;
      t.shape = e.shape;
      t.file = shard.string();
      t.data = map->bytes().subspan(size_t(h.data_start + e.begin), size_t(e.end - e.begin));
      const auto type = type_of(e.dtype);
      if (!type) {
        if (skipped(mapping, e.name)) continue;
        throw Error(shard.string() + ": tensor '" + e.name + "' has dtype " + e.dtype + "; expected F32, F16 or BF16");
      }
      t.type = *type;
      hf.push_back(std::move(t));
    }
    storage->maps.push_back(std::move(map));
  }
  for (const auto& [name, shard] : plan.weight_map)
    if (!seen.count(name))
      throw Error(plan.index.string() + ": tensor '" + name + "' is listed for " + shard + " but that shard does not hold it");

  auto add = [&](const std::string& name, TypeId type, const std::vector<int64_t>& shape,
                 std::span<const std::byte> data, bool mapped) {
    if (shape.size() > 4) throw Error(dir.string() + ": tensor '" + name + "' has " + std::to_string(shape.size()) + " dimensions; GGUF allows 4");
    TensorInfo ti;
    ti.name = name;
    ti.type = type;
    ti.n_dims = std::max<int>(1, int(shape.size()));
    for (size_t d = 0; d < shape.size(); ++d) ti.ne[d] = shape[shape.size() - 1 - d];
    ti.data = data;
    ti.file_mapped = mapped;
    file->tensors.push_back(std::move(ti));
  };
  auto own_floats = [&](const std::vector<float>& v) {
    auto& buf = storage->owned.emplace_back(v.size() * 4);
    std::memcpy(buf.data(), v.data(), buf.size());
    return std::span<const std::byte>(buf);
  };

  for (const auto& x : mapping.extra ? mapping.extra(cfg) : std::vector<ExtraTensor>{})
    add(x.name, TypeId::F32, x.shape, own_floats(x.values), false);

  std::set<std::string> produced;
  for (const auto& t : hf) {
    if (skipped(mapping, t.name)) continue;
    const TensorRule* rule = nullptr;
    std::string layer;
    for (const auto& r : mapping.rules)
      if (match_pattern(r.hf, t.name, layer)) { rule = &r; break; }
    if (!rule)
      throw Error(t.file + ": tensor '" + t.name + "' has no GGUF name in the " + mapping.gguf_arch + " mapping");
    const std::string name = substitute(rule->gguf, layer);
    if (!produced.insert(name).second)
      throw Error(t.file + ": tensor '" + t.name + "' maps to " + name + ", which another tensor already gave");
    switch (rule->transform) {
      case Transform::None:
        add(name, t.type, t.shape, t.data, true);
        break;
      case Transform::AddOne: {
        std::vector<float> v = to_floats(t);
        for (auto& x : v) x += 1.0f;
        add(name, TypeId::F32, t.shape, own_floats(v), false);
        break;
      }
      case Transform::PermuteQ:
      case Transform::PermuteK: {
        // Rows of head h are stored [first halves..., second halves...]; GGUF
        // interleaves them: out row h*d + 2i + j = in row h*d + j*d/2 + i.
        const std::string key = mapping.gguf_arch + (rule->transform == Transform::PermuteQ
                                                         ? ".attention.head_count" : ".attention.head_count_kv");
        const int64_t heads = meta.has(key) ? meta.get_int(key) : meta.get_int(mapping.gguf_arch + ".attention.head_count");
        const int64_t rows = t.shape.empty() ? 1 : t.shape[0];
        if (heads <= 0 || rows % heads != 0 || (rows / heads) % 2 != 0)
          throw Error(t.file + ": tensor '" + t.name + "' has " + std::to_string(rows) + " rows; expected a multiple of 2 x " +
                      key + " (" + std::to_string(heads) + ")");
        const int64_t d = rows / heads, half = d / 2;
        const size_t row_bytes = t.data.size() / size_t(rows);
        auto& buf = storage->owned.emplace_back(t.data.size());
        for (int64_t h = 0; h < heads; ++h)
          for (int64_t i = 0; i < half; ++i)
            for (int64_t j = 0; j < 2; ++j)
              std::memcpy(buf.data() + size_t(h * d + 2 * i + j) * row_bytes,
                          t.data.data() + size_t(h * d + j * half + i) * row_bytes, row_bytes);
        add(name, t.type, t.shape, std::span<const std::byte>(buf), false);
        break;
      }
    }
  }

  // The tokenizer, when the checkpoint has one (tessel can still run token ids without it).
  const fs::path tok = dir / "tokenizer.json";
  if (fs::exists(tok)) {
    const fs::path tok_cfg = dir / "tokenizer_config.json";
    const Metadata tm = import_hf_tokenizer(tok, fs::exists(tok_cfg) ? tok_cfg : fs::path(),
                                            cfg.integer_opt("vocab_size").value_or(0));
    for (const auto& [k, v] : tm.entries()) meta.set(k, v);
  }

  file->storage = storage;
  file->build_index();
  return file;
}

}  // namespace tessel::safetensors
