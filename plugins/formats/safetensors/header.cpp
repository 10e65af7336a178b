// safetensors header: 8-byte little-endian length N, N bytes of JSON, then the
// data section. Everything comes from an untrusted file, so every number is
// checked before it is used: a bad file ends in one tessel::Error naming the
// file, the tensor and what was expected.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string_view>

#include "safetensors.hpp"
#include "tessel/error.hpp"
#include "tessel/json_file.hpp"
#include "tessel/output_file.hpp"

namespace tessel::safetensors {
namespace {

using json = nlohmann::json;

// Real headers are well under a few MB; the reference implementation caps them at 100 MB.
constexpr uint64_t kMaxHeaderBytes = 100u << 20;
// Headers nest three levels ({name: {shape: [..]}}); bound it so no input drives deep recursion.
constexpr int kMaxDepth = 8;

uint64_t checked_mul(uint64_t a, uint64_t b, bool& overflow) {
  if (a != 0 && b > UINT64_MAX / a) overflow = true;
  return a * b;
}

}  // namespace

size_t dtype_size(const std::string& d) {
  static const std::pair<const char*, size_t> kSizes[] = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2},
      {"I8", 1},  {"U64", 8}, {"U32", 4}, {"U16", 2},  {"U8", 1},  {"BOOL", 1},
      {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  for (const auto& [name, size] : kSizes)
    if (d == name) return size;
  return 0;
}

Header parse_header(std::span<const std::byte> file, const std::string& source) {
  auto fail = [&](const std::string& what) -> Error { return Error(source + ": " + what); };
  if (file.size() < 8)
    throw fail("file is " + std::to_string(file.size()) + " bytes; a safetensors file starts with an 8-byte header length");
  uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);  // little-endian on every target we build for
  const uint64_t avail = file.size() - 8;
  if (n > avail)
    throw fail("header length " + std::to_string(n) + " runs past the end of the file (" +
               std::to_string(avail) + " bytes follow the length)");
  if (n > kMaxHeaderBytes)
    throw fail("header length " + std::to_string(n) + " exceeds the " + std::to_string(kMaxHeaderBytes) + "-byte limit");
  if (n < 2) throw fail("header length " + std::to_string(n) + " is too small for a JSON object");
  const char* text = reinterpret_cast<const char*>(file.data()) + 8;
  if (!json_nesting_within(std::string_view(text, size_t(n)), kMaxDepth))
    throw fail("header JSON nests deeper than " + std::to_string(kMaxDepth) + " levels");
  json j;
  try {
    j = json::parse(text, text + n);
  } catch (const json::exception& e) {
    throw fail(std::string("header is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw fail("header is not a JSON object");

  Header h;
  h.data_start = 8 + n;
  const uint64_t data_size = avail - n;
  for (const auto& [name, v] : j.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) throw fail("__metadata__ is not an object of strings");
      for (const auto& [k, s] : v.items()) {
        if (!s.is_string()) throw fail("__metadata__['" + k + "'] is not a string");
        h.metadata[k] = s.get<std::string>();
      }
      continue;
    }
    // Named, not captured: clang < 16 can't capture a structured binding
    // (tools/test.sh's sanitizer build is clang 14).
    const std::string& tensor = name;
    auto bad = [&](const std::string& what) { return fail("tensor '" + tensor + "': " + what); };
    if (!v.is_object()) throw bad("entry is not an object");
    if (!v.contains("dtype") || !v["dtype"].is_string()) throw bad("no \"dtype\" string");
    if (!v.contains("shape") || !v["shape"].is_array()) throw bad("no \"shape\" array");
    if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
      throw bad("\"data_offsets\" is not a [begin, end] pair");
    Entry e;
    e.name = name;
    e.dtype = v["dtype"].get<std::string>();
    const size_t esize = dtype_size(e.dtype);
    if (esize == 0) throw bad("unknown dtype '" + e.dtype + "'");
    bool overflow = false;
    uint64_t count = 1;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) throw bad("shape " + v["shape"].dump() + " has a dimension that is not a non-negative integer");
      const uint64_t dim = d.get<uint64_t>();
      if (dim > uint64_t(INT64_MAX)) throw bad("shape dimension " + std::to_string(dim) + " is too large");
      count = checked_mul(count, dim, overflow);
      e.shape.push_back(int64_t(dim));
    }
    const uint64_t bytes = checked_mul(count, esize, overflow);
    if (overflow) throw bad("shape " + v["shape"].dump() + " is too large");
    for (const auto& o : v["data_offsets"])
      if (!o.is_number_unsigned()) throw bad("data_offsets " + v["data_offsets"].dump() + " are not non-negative integers");
    e.begin = v["data_offsets"][0].get<uint64_t>();
    e.end = v["data_offsets"][1].get<uint64_t>();
    if (e.begin > e.end) throw bad("data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "] end before they begin");
    if (e.end > data_size)
      throw bad("data_offsets end " + std::to_string(e.end) + " is past the data section (" + std::to_string(data_size) + " bytes)");
    if (e.end - e.begin != bytes)
      throw bad("dtype " + e.dtype + " and shape " + v["shape"].dump() + " need " + std::to_string(bytes) +
                " bytes but data_offsets span " + std::to_string(e.end - e.begin));
    h.tensors.push_back(std::move(e));
  }

  // No two tensors may share bytes (empty tensors occupy none).
  std::vector<const Entry*> by_offset;
  for (const auto& e : h.tensors)
    if (e.end > e.begin) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin < by_offset[i - 1]->end)
      throw fail("tensors '" + by_offset[i - 1]->name + "' [" + std::to_string(by_offset[i - 1]->begin) + ", " +
                 std::to_string(by_offset[i - 1]->end) + ") and '" + by_offset[i]->name + "' [" +
                 std::to_string(by_offset[i]->begin) + ", " + std::to_string(by_offset[i]->end) + ") overlap");
  return h;
}

Mapping::~Mapping() {
  if (data && size) munmap(const_cast<std::byte*>(data), size);
}

std::unique_ptr<Mapping> map_file(const std::filesystem::path& path) {
  // A shard of a checkpoint folder is an input too: `convert DIR DIR/x.safetensors`
  // must not replace the file it is reading.
  note_input(path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path.string() + ": cannot open: " + std::strerror(errno));
  struct stat st{};
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw Error(path.string() + ": cannot stat: " + std::strerror(err));
  }
  auto m = std::make_unique<Mapping>();
  m->size = size_t(st.st_size);
  if (m->size > 0) {
    void* p = mmap(nullptr, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      m->size = 0;
      throw Error(path.string() + ": cannot map: " + std::strerror(err));
    }
    m->data = static_cast<const std::byte*>(p);
  }
  ::close(fd);
  return m;
}

}  // namespace tessel::safetensors
