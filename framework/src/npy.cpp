#include "tessel/npy.hpp"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "tessel/error.hpp"
#include "tessel/half.hpp"

namespace tessel {

int64_t NpyArray::size() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<float> NpyArray::as_floats() const {
  const int64_t n = size();
  std::vector<float> out(static_cast<size_t>(n));
  const uint8_t* p = bytes.data();
  auto each = [&](auto conv, size_t width) {
    if (bytes.size() < size_t(n) * width) throw Error("npy data shorter than its shape");
    for (int64_t k = 0; k < n; ++k) out[size_t(k)] = conv(p + size_t(k) * width);
  };
  if (dtype == "f4") each([](const uint8_t* q) { float v; std::memcpy(&v, q, 4); return v; }, 4);
  else if (dtype == "f2") each([](const uint8_t* q) { uint16_t v; std::memcpy(&v, q, 2); return fp16_to_fp32(v); }, 2);
  else if (dtype == "f8") each([](const uint8_t* q) { double v; std::memcpy(&v, q, 8); return float(v); }, 8);
  else if (dtype == "i4") each([](const uint8_t* q) { int32_t v; std::memcpy(&v, q, 4); return float(v); }, 4);
  else if (dtype == "i8") each([](const uint8_t* q) { int64_t v; std::memcpy(&v, q, 8); return float(v); }, 8);
  else if (dtype == "u1") each([](const uint8_t* q) { return float(*q); }, 1);
  else throw Error("npy dtype '" + dtype + "' cannot be read as floats");
  return out;
}

namespace {

size_t dtype_width(const std::string& d) {
  if (d.size() < 2) return 0;
  return size_t(std::atoi(d.c_str() + 1));
}

// Pulls the value text of 'key' out of the header dict.
std::string header_field(const std::string& h, const std::string& key) {
  auto k = h.find("'" + key + "'");
  if (k == std::string::npos) return {};
  auto colon = h.find(':', k);
  if (colon == std::string::npos) return {};
  size_t s = colon + 1;
  while (s < h.size() && h[s] == ' ') ++s;
  if (s < h.size() && h[s] == '(') return h.substr(s, h.find(')', s) - s + 1);
  size_t e = s;
  if (s < h.size() && h[s] == '\'') e = h.find('\'', s + 1) + 1;
  else while (e < h.size() && h[e] != ',' && h[e] != '}') ++e;
  return h.substr(s, e - s);
}

}  // namespace

NpyArray read_npy(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open");
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    throw Error(path.string() + ": not a .npy file (bad magic)");
  uint32_t hlen = 0;
  if (magic[6] == 1) {
    uint16_t h16; in.read(reinterpret_cast<char*>(&h16), 2); hlen = h16;
  } else {
    in.read(reinterpret_cast<char*>(&hlen), 4);
  }
  if (!in || hlen > (1u << 20)) throw Error(path.string() + ": bad .npy header length");
  std::string h(hlen, '\0');
  if (!in.read(h.data(), hlen)) throw Error(path.string() + ": truncated .npy header");

  NpyArray a;
  std::string descr = header_field(h, "descr");
  if (descr.size() < 4) throw Error(path.string() + ": .npy header has no descr");
  descr = descr.substr(1, descr.size() - 2);  // strip quotes
  if (descr[0] == '>') throw Error(path.string() + ": big-endian .npy is not supported");
  a.dtype = (descr[0] == '<' || descr[0] == '|' || descr[0] == '=') ? descr.substr(1) : descr;
  if (header_field(h, "fortran_order").rfind("True", 0) == 0)
    throw Error(path.string() + ": Fortran-order .npy is not supported");
  std::string shape = header_field(h, "shape");
  std::stringstream ss(shape.size() > 2 ? shape.substr(1, shape.size() - 2) : "");
  std::string dim;
  while (std::getline(ss, dim, ',')) {
    if (dim.find_first_not_of(' ') == std::string::npos) continue;
    long long d = std::atoll(dim.c_str());
    if (d < 0) throw Error(path.string() + ": negative dimension in .npy shape");
    a.shape.push_back(d);
  }
  const size_t width = dtype_width(a.dtype);
  if (width == 0) throw Error(path.string() + ": unsupported .npy dtype '" + descr + "'");
  const uint64_t want = uint64_t(a.size()) * width;
  auto here = in.tellg();
  in.seekg(0, std::ios::end);
  const uint64_t avail = uint64_t(in.tellg() - here);
  if (avail < want)
    throw Error(path.string() + ": .npy data is " + std::to_string(avail) + " bytes, shape needs " +
                std::to_string(want));
  in.seekg(here);
  a.bytes.resize(want);
  in.read(reinterpret_cast<char*>(a.bytes.data()), std::streamsize(want));
  return a;
}

void write_file_atomic(const std::filesystem::path& path, const std::string& content) {
  std::random_device rd;
  auto tmp = path;
  tmp += ".tmp" + std::to_string(rd());
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw Error(path.string() + ": cannot write (folder missing or not writable?)");
    out.write(content.data(), std::streamsize(content.size()));
    out.flush();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw Error(path.string() + ": write failed (disk full?)");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw Error(path.string() + ": cannot rename temp file into place");
  }
}

void write_npy(const std::filesystem::path& path, const NpyArray& arr) {
  std::string shape = "(";
  for (size_t k = 0; k < arr.shape.size(); ++k) shape += std::to_string(arr.shape[k]) + ", ";
  if (arr.shape.size() > 1) shape.resize(shape.size() - 2);
  shape += ")";
  const char* order = arr.dtype == "u1" || arr.dtype == "i1" ? "|" : "<";
  std::string h = "{'descr': '" + std::string(order) + arr.dtype + "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  uint16_t hl = uint16_t(h.size());
  out.append(reinterpret_cast<const char*>(&hl), 2);
  out += h;
  out.append(reinterpret_cast<const char*>(arr.bytes.data()), arr.bytes.size());
  write_file_atomic(path, out);
}

void write_npy(const std::filesystem::path& path, const float* data, const std::vector<int64_t>& shape) {
  NpyArray a;
  a.dtype = "f4";
  a.shape = shape;
  a.bytes.resize(size_t(a.size()) * 4);
  if (!a.bytes.empty()) std::memcpy(a.bytes.data(), data, a.bytes.size());
  write_npy(path, a);
}

}  // namespace tessel
