// libFuzzer target for the GGUF reader: any input must either parse or throw
// tessel::Error — no crash, hang, leak or huge allocation. What parses must
// also survive the writer: serialize, parse again, serialize again, and the
// two serialized images must be identical.
#include <cstddef>
#include <cstdint>
#include <string>

#include "gguf.hpp"
#include "tessel/error.hpp"

namespace {
std::string serialize(const tessel::ModelFile& f) {
  std::string out;
  auto tensors = tessel::gguf::tensors_to_write(f);
  tessel::gguf::serialize(f.meta, tensors, [&](const void* p, size_t n) {
    out.append(static_cast<const char*>(p), n);
  }, "fuzz");
  return out;
}

std::span<const std::byte> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<tessel::ModelFile> f;
  try {
    f = tessel::gguf::parse({reinterpret_cast<const std::byte*>(data), size}, "fuzz");
  } catch (const tessel::Error&) {
    return 0;
  }
  // Everything the reader accepts, the writer must write and the reader re-read.
  std::string once = serialize(*f);
  auto g = tessel::gguf::parse(bytes_of(once), "fuzz-rewritten");
  std::string twice = serialize(*g);
  if (once != twice) __builtin_trap();
  return 0;
}
