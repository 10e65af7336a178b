#pragma once
// Builds small GGUF images by hand, field by field, so a test can break any
// one of them. The default image is valid: two F32 tensors, "a" [4, 2] at
// offset 0 and "b" [8] at offset 32, with two metadata keys.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace tessel::test {

struct Bytes {
  std::string b;
  template <class T>
  Bytes& put(T v) {
    b.append(reinterpret_cast<const char*>(&v), sizeof v);
    return *this;
  }
  Bytes& u8(uint8_t v) { return put(v); }
  Bytes& u32(uint32_t v) { return put(v); }
  Bytes& u64(uint64_t v) { return put(v); }
  Bytes& str(const std::string& s) {
    u64(s.size());
    b += s;
    return *this;
  }
  Bytes& raw(const std::string& s) {
    b += s;
    return *this;
  }
  Bytes& pad(size_t alignment) {
    while (b.size() % alignment) b += '\0';
    return *this;
  }
};

// One encoded key/value.
inline std::string kv(const std::string& key, uint32_t type, const std::string& payload) {
  Bytes x;
  x.str(key).u32(type).raw(payload);
  return x.b;
}
inline std::string kv_str(const std::string& key, const std::string& value) {
  return kv(key, 8, Bytes().str(value).b);
}
inline std::string kv_u32(const std::string& key, uint32_t v) { return kv(key, 4, Bytes().u32(v).b); }

struct TensorSpec {
  std::string name;
  std::vector<uint64_t> ne;
  uint32_t type = 0;
  uint64_t offset = 0;
};

struct FileSpec {
  std::string magic = "GGUF";
  uint32_t version = 3;
  std::vector<std::string> kvs{kv_str("general.architecture", "llama"), kv_u32("llama.block_count", 1)};
  std::vector<TensorSpec> tensors{{"a", {4, 2}, 0, 0}, {"b", {8}, 0, 32}};
  int64_t n_kv = -1, n_tensors = -1;  // -1: the real counts
  size_t alignment = 32;
  size_t data_bytes = 64;             // data bytes (byte k = k % 251) after the padding
};

inline std::string build(const FileSpec& s) {
  Bytes x;
  x.raw(s.magic).u32(s.version);
  x.u64(s.n_tensors >= 0 ? uint64_t(s.n_tensors) : s.tensors.size());
  x.u64(s.n_kv >= 0 ? uint64_t(s.n_kv) : s.kvs.size());
  for (const auto& k : s.kvs) x.raw(k);
  for (const auto& t : s.tensors) {
    x.str(t.name).u32(uint32_t(t.ne.size()));
    for (uint64_t n : t.ne) x.u64(n);
    x.u32(t.type).u64(t.offset);
  }
  if (!s.tensors.empty()) x.pad(s.alignment);
  for (size_t k = 0; k < s.data_bytes; ++k) x.u8(uint8_t(k % 251));
  return x.b;
}

}  // namespace tessel::test
