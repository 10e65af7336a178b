// `tessel inspect MODEL [--json] [--tensors] [--full]`: what a model file holds
// — format version, alignment, metadata (long arrays and strings summarised
// unless --full), parameter count and bytes by type, and with --tensors the
// tensor table (name, type, shape, bytes, offset).
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "command.hpp"
#include "tessel/pipeline.hpp"

namespace {

using ojson = nlohmann::ordered_json;

struct Options {
  std::string path;
  std::string format = "auto";
  bool json = false, tensors = false, full = false;
  std::vector<std::string> plugin_paths;
};

constexpr size_t kShownItems = 8;        // array elements shown without --full
constexpr size_t kShownChars = 96;       // string characters shown without --full

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(n);
  int u = 0;
  while (v >= 1024 && u < 4) { v /= 1024; ++u; }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  else std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
  return buf;
}

// 292800 -> "292,800"
std::string grouped(uint64_t n) {
  std::string s = std::to_string(n), out;
  for (size_t k = 0; k < s.size(); ++k) {
    if (k && (s.size() - k) % 3 == 0) out += ',';
    out += s[k];
  }
  return out;
}

// Escapes control characters so every value stays on one line.
std::string one_line(const std::string& s, size_t limit) {
  std::string out;
  size_t k = 0;
  for (; k < s.size() && (limit == 0 || out.size() < limit); ++k) {
    unsigned char ch = static_cast<unsigned char>(s[k]);
    if (ch == '\n') out += "\\n";
    else if (ch == '\r') out += "\\r";
    else if (ch == '\t') out += "\\t";
    else if (ch == '"') out += "\\\"";
    else if (ch == '\\') out += "\\\\";
    else if (ch < 32 || ch == 127) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", ch);
      out += buf;
    } else out += char(ch);
  }
  if (k < s.size()) out += "... (" + grouped(s.size()) + " bytes)";
  return out;
}

std::string number_text(const tessel::MetaValue& v, uint64_t k) {
  if (v.elem_type == tessel::MetaType::F32 || v.elem_type == tessel::MetaType::F64) {
    std::ostringstream os;
    os << v.number_at(k);
    return os.str();
  }
  if (v.elem_type == tessel::MetaType::BOOL) return v.int_at(k) ? "true" : "false";
  if (v.elem_type == tessel::MetaType::U64) return std::to_string(uint64_t(v.int_at(k)));
  return std::to_string(v.int_at(k));
}

std::string type_text(const tessel::MetaValue& v) {
  if (!v.is_array()) return tessel::meta_type_name(v.type);
  return std::string("[") + tessel::meta_type_name(v.elem_type) + " x " + grouped(v.count) + "]";
}

std::string value_text(const tessel::MetaValue& v, bool full) {
  using tessel::MetaType;
  switch (v.type) {
    case MetaType::STRING: return "\"" + one_line(v.str, full ? 0 : kShownChars) + "\"";
    case MetaType::BOOL: return v.u ? "true" : "false";
    case MetaType::F32: case MetaType::F64: {
      std::ostringstream os;
      os << v.f;
      return os.str();
    }
    case MetaType::U8: case MetaType::U16: case MetaType::U32: case MetaType::U64:
      return std::to_string(v.u);
    case MetaType::ARRAY: {
      uint64_t shown = full ? v.count : std::min<uint64_t>(v.count, kShownItems);
      std::string s = "[";
      for (uint64_t k = 0; k < shown; ++k) {
        if (k) s += ", ";
        if (v.elem_type == MetaType::STRING) s += "\"" + one_line(v.strings[k], full ? 0 : 32) + "\"";
        else if (v.elem_type == MetaType::ARRAY) s += value_text(v.items[k], full);
        else s += number_text(v, k);
      }
      if (shown < v.count) s += std::string(shown ? ", " : "") + "... " + grouped(v.count - shown) + " more";
      return s + "]";
    }
    default: return std::to_string(v.i);
  }
}

ojson value_json(const tessel::MetaValue& v, bool full) {
  using tessel::MetaType;
  switch (v.type) {
    case MetaType::STRING: return v.str;
    case MetaType::BOOL: return v.u != 0;
    case MetaType::F32: case MetaType::F64: return v.f;
    case MetaType::U8: case MetaType::U16: case MetaType::U32: case MetaType::U64: return v.u;
    case MetaType::ARRAY: {
      ojson a = ojson::array();
      uint64_t shown = full ? v.count : std::min<uint64_t>(v.count, kShownItems);
      for (uint64_t k = 0; k < shown; ++k) {
        if (v.elem_type == MetaType::STRING) a.push_back(v.strings[k]);
        else if (v.elem_type == MetaType::ARRAY) a.push_back(value_json(v.items[k], full));
        else if (v.elem_type == MetaType::F32 || v.elem_type == MetaType::F64) a.push_back(v.number_at(k));
        else if (v.elem_type == MetaType::BOOL) a.push_back(v.int_at(k) != 0);
        else if (v.elem_type == MetaType::U64) a.push_back(uint64_t(v.int_at(k)));
        else a.push_back(v.int_at(k));
      }
      return a;
    }
    default: return v.i;
  }
}

struct TypeTotals {
  uint64_t tensors = 0, params = 0, bytes = 0;
};

std::string bits_per_weight(const TypeTotals& s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", s.params ? 8.0 * double(s.bytes) / double(s.params) : 0.0);
  return buf;
}

int run(const Options& o) {
  auto reg = tessel::make_registry(std::vector<std::filesystem::path>(o.plugin_paths.begin(), o.plugin_paths.end()));
  auto file = tessel::open_model_file(*reg, o.path, o.format);
  std::error_code ec;
  uint64_t file_size = 0;
  if (std::filesystem::is_directory(file->path, ec)) {  // a checkpoint folder: all its files
    for (const auto& e : std::filesystem::recursive_directory_iterator(file->path, ec))
      if (e.is_regular_file(ec)) file_size += e.file_size(ec);
  } else {
    file_size = std::filesystem::file_size(file->path, ec);
  }

  std::map<std::string, TypeTotals> by_type;
  TypeTotals total;
  for (const auto& t : file->tensors) {
    for (TypeTotals* s : {&by_type[tessel::type_name(t.type)], &total}) {
      s->tensors += 1;
      s->params += uint64_t(t.n_elements());
      s->bytes += t.data.size();
    }
  }

  if (o.json) {
    ojson doc;
    doc["file"] = file->path.string();
    doc["format"] = file->format;
    doc["version"] = file->version;
    doc["alignment"] = file->alignment;
    doc["data_offset"] = file->data_offset;
    doc["file_size"] = file_size;
    doc["tensor_count"] = file->tensors.size();
    doc["parameters"] = total.params;
    doc["tensor_bytes"] = total.bytes;
    ojson types = ojson::object();
    for (const auto& [name, s] : by_type)
      types[name] = {{"tensors", s.tensors}, {"parameters", s.params}, {"bytes", s.bytes}};
    doc["by_type"] = types;
    ojson meta = ojson::object();
    for (const auto& [key, v] : file->meta.entries()) {
      ojson e = {{"type", tessel::meta_type_name(v.type)}};
      if (v.is_array()) {
        e["elem_type"] = tessel::meta_type_name(v.elem_type);
        e["count"] = v.count;
      }
      e["value"] = value_json(v, o.full);
      if (v.is_array() && !o.full && v.count > kShownItems) e["truncated"] = true;
      meta[key] = e;
    }
    doc["metadata"] = meta;
    if (o.tensors) {
      ojson list = ojson::array();
      for (const auto& t : file->tensors)
        list.push_back({{"name", t.name}, {"type", tessel::type_name(t.type)},
                        {"shape", std::vector<int64_t>(t.ne.begin(), t.ne.begin() + t.n_dims)},
                        {"bytes", t.data.size()}, {"offset", t.offset}});
      doc["tensors"] = list;
    }
    // Strings in GGUF files need not be valid UTF-8: replace, don't throw.
    std::cout << doc.dump(2, ' ', false, ojson::error_handler_t::replace) << "\n";
    return 0;
  }

  std::ostream& out = std::cout;
  out << file->path.string() << "\n";
  out << "  format      " << file->format << " v" << file->version << ", alignment " << file->alignment;
  if (!file->tensors.empty()) out << ", data at offset " << grouped(file->data_offset);
  out << "\n";
  out << "  file size   " << human_bytes(file_size) << "\n";
  if (const auto* a = file->meta.find("general.architecture"); a && a->type == tessel::MetaType::STRING)
    out << "  arch        " << one_line(a->str, kShownChars) << "\n";
  if (const auto* n = file->meta.find("general.name"); n && n->type == tessel::MetaType::STRING)
    out << "  name        " << one_line(n->str, kShownChars) << "\n";
  out << "  tensors     " << grouped(total.tensors) << " (" << grouped(total.params) << " parameters, "
      << human_bytes(total.bytes) << ")\n";
  for (const auto& [name, s] : by_type)
    out << "    " << name << std::string(name.size() < 8 ? 8 - name.size() : 1, ' ') << grouped(s.tensors)
        << " tensors, " << grouped(s.params) << " parameters, " << human_bytes(s.bytes) << ", "
        << bits_per_weight(s) << " bits/weight\n";

  out << "\nmetadata (" << file->meta.size() << " keys)\n";
  size_t key_width = 0, type_width = 0;
  for (const auto& [key, v] : file->meta.entries()) {
    key_width = std::max(key_width, key.size());
    type_width = std::max(type_width, type_text(v).size());
  }
  key_width = std::min<size_t>(key_width, 48);
  for (const auto& [key, v] : file->meta.entries()) {
    std::string ty = type_text(v);
    out << "  " << key << std::string(key.size() < key_width ? key_width - key.size() : 0, ' ') << "  " << ty
        << std::string(type_width - ty.size(), ' ') << "  " << value_text(v, o.full) << "\n";
  }

  if (o.tensors && !file->tensors.empty()) {
    size_t name_width = 4, shape_width = 5;
    for (const auto& t : file->tensors) {
      name_width = std::max(name_width, t.name.size());
      shape_width = std::max(shape_width, t.shape_string().size());
    }
    auto pad = [](const std::string& s, size_t w) { return s + std::string(s.size() < w ? w - s.size() : 0, ' '); };
    auto rpad = [](const std::string& s, size_t w) { return std::string(s.size() < w ? w - s.size() : 0, ' ') + s; };
    out << "\ntensors\n";
    out << "  " << pad("name", name_width) << "  " << pad("type", 7) << "  " << pad("shape", shape_width) << "  "
        << rpad("bytes", 13) << "  " << rpad("offset", 13) << "\n";
    for (const auto& t : file->tensors)
      out << "  " << pad(t.name, name_width) << "  " << pad(tessel::type_name(t.type), 7) << "  "
          << pad(t.shape_string(), shape_width) << "  " << rpad(grouped(t.data.size()), 13) << "  "
          << rpad(grouped(t.offset), 13) << "\n";
  }
  return 0;
}

tessel::host::Command inspect_cmd{
    "inspect", "Show a model file: format, metadata, tensors", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("model", o->path, "Model file (.gguf)")->required();
      app.add_flag("--json", o->json, "Print one JSON document");
      app.add_flag("--tensors", o->tensors, "List every tensor (name, type, shape, bytes, offset)");
      app.add_flag("--full", o->full, "Show long arrays and strings in full");
      app.add_option("--format", o->format, "Format plugin, or auto (by content)");
      app.add_option("--plugin-path", o->plugin_paths, "Extra folder to search for plugins");
      return [o]() { return run(*o); };
    }};

}  // namespace
