#include "tessel/metadata.hpp"

#include <cstring>
#include <sstream>

#include "tessel/error.hpp"

namespace tessel {

const char* meta_type_name(MetaType t) {
  switch (t) {
    case MetaType::U8: return "u8";
    case MetaType::I8: return "i8";
    case MetaType::U16: return "u16";
    case MetaType::I16: return "i16";
    case MetaType::U32: return "u32";
    case MetaType::I32: return "i32";
    case MetaType::F32: return "f32";
    case MetaType::BOOL: return "bool";
    case MetaType::STRING: return "string";
    case MetaType::ARRAY: return "array";
    case MetaType::U64: return "u64";
    case MetaType::I64: return "i64";
    case MetaType::F64: return "f64";
  }
  return "unknown";
}

size_t meta_type_size(MetaType t) {
  switch (t) {
    case MetaType::U8: case MetaType::I8: case MetaType::BOOL: return 1;
    case MetaType::U16: case MetaType::I16: return 2;
    case MetaType::U32: case MetaType::I32: case MetaType::F32: return 4;
    case MetaType::U64: case MetaType::I64: case MetaType::F64: return 8;
    default: return 0;
  }
}

bool MetaValue::is_integer() const {
  switch (type) {
    case MetaType::U8: case MetaType::I8: case MetaType::U16: case MetaType::I16:
    case MetaType::U32: case MetaType::I32: case MetaType::U64: case MetaType::I64:
      return true;
    default: return false;
  }
}

namespace {
template <class T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

double raw_number(MetaType t, const uint8_t* p) {
  switch (t) {
    case MetaType::U8: return *p;
    case MetaType::I8: return int8_t(*p);
    case MetaType::BOOL: return *p ? 1 : 0;
    case MetaType::U16: return load<uint16_t>(p);
    case MetaType::I16: return load<int16_t>(p);
    case MetaType::U32: return load<uint32_t>(p);
    case MetaType::I32: return load<int32_t>(p);
    case MetaType::F32: return load<float>(p);
    case MetaType::U64: return double(load<uint64_t>(p));
    case MetaType::I64: return double(load<int64_t>(p));
    case MetaType::F64: return load<double>(p);
    default: throw Error("array element type " + std::string(meta_type_name(t)) + " is not numeric");
  }
}

int64_t raw_int(MetaType t, const uint8_t* p) {
  switch (t) {
    case MetaType::U64: return int64_t(load<uint64_t>(p));
    case MetaType::I64: return load<int64_t>(p);
    default: return int64_t(raw_number(t, p));
  }
}
}  // namespace

double MetaValue::number_at(uint64_t k) const {
  size_t sz = meta_type_size(elem_type);
  if (!is_array() || sz == 0 || k >= count) throw Error("metadata array index out of range");
  return raw_number(elem_type, raw.data() + k * sz);
}

int64_t MetaValue::int_at(uint64_t k) const {
  size_t sz = meta_type_size(elem_type);
  if (!is_array() || sz == 0 || k >= count) throw Error("metadata array index out of range");
  return raw_int(elem_type, raw.data() + k * sz);
}

std::string MetaValue::to_string(size_t max_items) const {
  std::ostringstream os;
  switch (type) {
    case MetaType::STRING: return str;
    case MetaType::BOOL: return u ? "true" : "false";
    case MetaType::F32: case MetaType::F64: os << f; return os.str();
    case MetaType::U64: case MetaType::U32: case MetaType::U16: case MetaType::U8:
      return std::to_string(u);
    case MetaType::ARRAY: {
      os << "[";
      uint64_t shown = std::min<uint64_t>(count, max_items);
      for (uint64_t k = 0; k < shown; ++k) {
        if (k) os << ", ";
        if (elem_type == MetaType::STRING) os << '"' << strings[k] << '"';
        else if (elem_type == MetaType::ARRAY) os << items[k].to_string(max_items);
        else if (elem_type == MetaType::F32 || elem_type == MetaType::F64) os << number_at(k);
        else os << int_at(k);
      }
      if (shown < count) os << ", ... (" << count << " " << meta_type_name(elem_type) << ")";
      os << "]";
      return os.str();
    }
    default: return std::to_string(i);
  }
}

MetaValue MetaValue::of_string(std::string s) {
  MetaValue v; v.type = MetaType::STRING; v.str = std::move(s); return v;
}
MetaValue MetaValue::of_u32(uint32_t x) {
  MetaValue v; v.type = MetaType::U32; v.u = x; v.i = x; v.f = x; return v;
}
MetaValue MetaValue::of_i32(int32_t x) {
  MetaValue v; v.type = MetaType::I32; v.i = x; v.u = uint64_t(x); v.f = x; return v;
}
MetaValue MetaValue::of_u64(uint64_t x) {
  MetaValue v; v.type = MetaType::U64; v.u = x; v.i = int64_t(x); v.f = double(x); return v;
}
MetaValue MetaValue::of_f32(float x) {
  MetaValue v; v.type = MetaType::F32; v.f = x; return v;
}
MetaValue MetaValue::of_bool(bool x) {
  MetaValue v; v.type = MetaType::BOOL; v.u = x; v.i = x; v.f = x; return v;
}
MetaValue MetaValue::of_strings(std::vector<std::string> s) {
  MetaValue v; v.type = MetaType::ARRAY; v.elem_type = MetaType::STRING;
  v.count = s.size(); v.strings = std::move(s); return v;
}
MetaValue MetaValue::of_f32s(const std::vector<float>& x) {
  MetaValue v; v.type = MetaType::ARRAY; v.elem_type = MetaType::F32; v.count = x.size();
  v.raw.resize(x.size() * 4); if (!x.empty()) std::memcpy(v.raw.data(), x.data(), v.raw.size()); return v;
}
MetaValue MetaValue::of_i32s(const std::vector<int32_t>& x) {
  MetaValue v; v.type = MetaType::ARRAY; v.elem_type = MetaType::I32; v.count = x.size();
  v.raw.resize(x.size() * 4); if (!x.empty()) std::memcpy(v.raw.data(), x.data(), v.raw.size()); return v;
}

void Metadata::set(const std::string& key, MetaValue v) {
  auto it = index_.find(key);
  if (it != index_.end()) { entries_[it->second].second = std::move(v); return; }
  index_.emplace(key, entries_.size());
  entries_.emplace_back(key, std::move(v));
}

void Metadata::erase(std::string_view key) {
  auto it = index_.find(std::string(key));
  if (it == index_.end()) return;
  entries_.erase(entries_.begin() + long(it->second));
  index_.clear();
  for (size_t k = 0; k < entries_.size(); ++k) index_.emplace(entries_[k].first, k);
}

const MetaValue* Metadata::find(std::string_view key) const {
  auto it = index_.find(std::string(key));
  return it == index_.end() ? nullptr : &entries_[it->second].second;
}

namespace {
[[noreturn]] void wrong(const Metadata& m, std::string_view key, const MetaValue& v, const char* want) {
  throw Error((m.source.empty() ? "" : m.source + ": ") + "metadata key '" + std::string(key) +
              "' is " + meta_type_name(v.type) + ", expected " + want);
}
}  // namespace

const MetaValue& Metadata::get(std::string_view key) const {
  if (const MetaValue* v = find(key)) return *v;
  throw Error((source.empty() ? "" : source + ": ") + "missing metadata key '" + std::string(key) + "'");
}

std::string Metadata::get_string(std::string_view key) const {
  const MetaValue& v = get(key);
  if (v.type != MetaType::STRING) wrong(*this, key, v, "a string");
  return v.str;
}
std::string Metadata::get_string(std::string_view key, const std::string& def) const {
  return has(key) ? get_string(key) : def;
}
int64_t Metadata::get_int(std::string_view key) const {
  const MetaValue& v = get(key);
  if (v.is_integer()) return v.i;
  if (v.type == MetaType::BOOL) return v.u ? 1 : 0;
  wrong(*this, key, v, "an integer");
}
int64_t Metadata::get_int(std::string_view key, int64_t def) const {
  return has(key) ? get_int(key) : def;
}
double Metadata::get_float(std::string_view key) const {
  const MetaValue& v = get(key);
  if (v.is_float()) return v.f;
  if (v.is_integer()) return double(v.i);
  wrong(*this, key, v, "a number");
}
double Metadata::get_float(std::string_view key, double def) const {
  return has(key) ? get_float(key) : def;
}
bool Metadata::get_bool(std::string_view key, bool def) const {
  const MetaValue* v = find(key);
  if (!v) return def;
  if (v->type == MetaType::BOOL || v->is_integer()) return v->u != 0;
  wrong(*this, key, *v, "a bool");
}
const std::vector<std::string>& Metadata::get_strings(std::string_view key) const {
  const MetaValue& v = get(key);
  if (!v.is_array() || v.elem_type != MetaType::STRING) wrong(*this, key, v, "an array of strings");
  return v.strings;
}
std::vector<float> Metadata::get_floats(std::string_view key) const {
  const MetaValue& v = get(key);
  if (!v.is_array() || meta_type_size(v.elem_type) == 0) wrong(*this, key, v, "an array of numbers");
  std::vector<float> out(v.count);
  for (uint64_t k = 0; k < v.count; ++k) out[k] = float(v.number_at(k));
  return out;
}
std::vector<int64_t> Metadata::get_ints(std::string_view key) const {
  const MetaValue& v = get(key);
  if (!v.is_array() || meta_type_size(v.elem_type) == 0) wrong(*this, key, v, "an array of integers");
  std::vector<int64_t> out(v.count);
  for (uint64_t k = 0; k < v.count; ++k) out[k] = v.int_at(k);
  return out;
}

}  // namespace tessel
