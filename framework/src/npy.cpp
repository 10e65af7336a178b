#include "tessel/npy.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tessel/error.hpp"
#include "tessel/half.hpp"

namespace tessel {

int64_t NpyArray::size() const {
  int64_t n = 1;
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(n, d, &n))
      throw Error("npy shape has a negative dimension or more than 2^63 elements");
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
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(path.string() + ": no such file");
  // A FIFO or device would block or never end: only regular files are read.
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error(path.string() + ": not a regular file, expected a .npy file");
  note_input(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open: " + std::strerror(errno));
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
    const size_t first = dim.find_first_not_of(' ');
    const size_t last = dim.find_last_not_of(' ');
    const std::string digits = dim.substr(first, last - first + 1);
    char* end = nullptr;
    errno = 0;
    const long long d = std::strtoll(digits.c_str(), &end, 10);
    if (*end != '\0' || errno == ERANGE || d < 0)
      throw Error(path.string() + ": .npy shape dimension '" + digits +
                  "' is not a non-negative integer below 2^63");
    a.shape.push_back(d);
  }
  const size_t width = dtype_width(a.dtype);
  if (width == 0 || width > 16) throw Error(path.string() + ": unsupported .npy dtype '" + descr + "'");
  // Checked: a crafted shape whose product wraps around would otherwise pass
  // the size check below and send consumers reading far past the data.
  uint64_t want = 1;
  for (int64_t d : a.shape)
    if (__builtin_mul_overflow(want, uint64_t(d), &want))
      throw Error(path.string() + ": .npy shape " + shape + " has more elements than fit in memory");
  if (__builtin_mul_overflow(want, uint64_t(width), &want))
    throw Error(path.string() + ": .npy shape " + shape + " has more bytes than fit in memory");
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

namespace {

void write_npy_bytes(const std::filesystem::path& path, const std::string& dtype,
                     const std::vector<int64_t>& dims, const void* data, size_t n_bytes) {
  std::string shape = "(";
  for (size_t k = 0; k < dims.size(); ++k) shape += std::to_string(dims[k]) + ", ";
  if (dims.size() > 1) shape.resize(shape.size() - 2);
  shape += ")";
  const char* order = dtype == "u1" || dtype == "i1" ? "|" : "<";
  std::string h = "{'descr': '" + std::string(order) + dtype + "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h += '\n';
  std::string head("\x93NUMPY\x01\x00", 8);
  uint16_t hl = uint16_t(h.size());
  head.append(reinterpret_cast<const char*>(&hl), 2);
  head += h;
  OutputFile out(path);
  out.write(head);
  if (n_bytes) out.write(data, n_bytes);
  out.commit();
}

}  // namespace

void write_npy(const std::filesystem::path& path, const NpyArray& arr) {
  write_npy_bytes(path, arr.dtype, arr.shape, arr.bytes.data(), arr.bytes.size());
}

void write_npy(const std::filesystem::path& path, const float* data, const std::vector<int64_t>& shape) {
  NpyArray dims;
  dims.shape = shape;
  write_npy_bytes(path, "f4", shape, data, size_t(dims.size()) * 4);
}

}  // namespace tessel
