#pragma once
// A tiny safetensors writer for tests: checkpoints are written by the tests
// themselves (synthetic, or a golden GGUF turned back into HF layout), never
// downloaded.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace st_test {

struct Tensor {
  std::string name;
  std::string dtype = "F32";
  std::vector<int64_t> shape;     // HF order, outermost first
  std::vector<std::byte> bytes;
};

inline Tensor f32_tensor(std::string name, std::vector<int64_t> shape, const std::vector<float>& v) {
  Tensor t{std::move(name), "F32", std::move(shape), std::vector<std::byte>(v.size() * 4)};
  std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
  return t;
}

// The header as the reference writer lays it out: JSON padded with spaces to
// a multiple of 8, tensors packed in order.
inline std::string header_json(const std::vector<Tensor>& ts) {
  nlohmann::json h = nlohmann::json::object();
  uint64_t at = 0;
  for (const auto& t : ts) {
    h[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {at, at + t.bytes.size()}}};
    at += t.bytes.size();
  }
  h["__metadata__"] = {{"format", "pt"}};
  std::string s = h.dump();
  while (s.size() % 8) s += ' ';
  return s;
}

inline std::string image(const std::string& header, const std::vector<Tensor>& ts) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  out += header;
  for (const auto& t : ts) out.append(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
  return out;
}

inline void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

inline void write_safetensors(const std::filesystem::path& p, const std::vector<Tensor>& ts) {
  write_bytes(p, image(header_json(ts), ts));
}

inline void write_json(const std::filesystem::path& p, const nlohmann::json& j) {
  std::ofstream out(p);
  out << j.dump(2);
}

}  // namespace st_test
