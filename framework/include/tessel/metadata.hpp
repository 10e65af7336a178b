#pragma once
// Typed GGUF key/values. Numeric arrays keep their raw little-endian bytes so a
// read/write round trip is byte-identical; accessors convert on demand.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tessel {

// Numbered as GGUF numbers them.
enum class MetaType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
const char* meta_type_name(MetaType t);
size_t meta_type_size(MetaType t);  // 0 for STRING and ARRAY

struct MetaValue {
  MetaType type = MetaType::U32;
  // Scalars: integers in u/i (both set when representable), floats in f.
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  std::string str;
  // Arrays: element type, count, and one of the stores below.
  MetaType elem_type = MetaType::U8;
  uint64_t count = 0;
  std::vector<uint8_t> raw;           // numeric/bool elements, little-endian
  std::vector<std::string> strings;   // STRING elements
  std::vector<MetaValue> items;       // ARRAY elements (nested arrays)

  bool is_array() const { return type == MetaType::ARRAY; }
  bool is_integer() const;
  bool is_float() const { return type == MetaType::F32 || type == MetaType::F64; }
  // Element k of a numeric array, converted.
  double number_at(uint64_t k) const;
  int64_t int_at(uint64_t k) const;
  std::string to_string(size_t max_items = 8) const;  // for inspect/errors

  static MetaValue of_string(std::string s);
  static MetaValue of_u32(uint32_t v);
  static MetaValue of_i32(int32_t v);
  static MetaValue of_u64(uint64_t v);
  static MetaValue of_f32(float v);
  static MetaValue of_bool(bool v);
  static MetaValue of_strings(std::vector<std::string> v);
  static MetaValue of_f32s(const std::vector<float>& v);
  static MetaValue of_i32s(const std::vector<int32_t>& v);
};

// Ordered key/value store. `source` (usually the file path) prefixes errors.
class Metadata {
 public:
  std::string source;

  void set(const std::string& key, MetaValue v);
  bool has(std::string_view key) const { return find(key) != nullptr; }
  const MetaValue* find(std::string_view key) const;
  const MetaValue& get(std::string_view key) const;  // throws naming the key
  void erase(std::string_view key);

  // Typed getters throw tessel::Error naming source, key and expected type.
  std::string get_string(std::string_view key) const;
  std::string get_string(std::string_view key, const std::string& def) const;
  int64_t get_int(std::string_view key) const;
  int64_t get_int(std::string_view key, int64_t def) const;
  double get_float(std::string_view key) const;
  double get_float(std::string_view key, double def) const;
  bool get_bool(std::string_view key, bool def) const;
  const std::vector<std::string>& get_strings(std::string_view key) const;
  std::vector<float> get_floats(std::string_view key) const;
  std::vector<int64_t> get_ints(std::string_view key) const;

  const std::vector<std::pair<std::string, MetaValue>>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }

 private:
  std::vector<std::pair<std::string, MetaValue>> entries_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace tessel
