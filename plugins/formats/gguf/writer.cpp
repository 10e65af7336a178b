// GGUF writer. Lays a file out as ggml's gguf writer does — header, key/values
// in order, tensor infos with offsets packed in order, zero padding up to the
// alignment before the data and after every tensor — so a file read and
// written back is byte-identical. Files without tensors (vocab-only GGUFs, as
// gguf-py writes them) end right after the last key/value.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <unordered_set>

#include "gguf.hpp"
#include "tessel/output_file.hpp"
#include "tessel/error.hpp"

namespace tessel::gguf {
namespace {

constexpr uint8_t kMagic[4] = {'G', 'G', 'U', 'F'};
const uint8_t kZeros[64] = {};

class Out {
 public:
  explicit Out(const Sink& sink) : sink_(sink) {}
  uint64_t pos() const { return pos_; }
  void bytes(const void* p, size_t n) {
    if (n) sink_(p, n);
    pos_ += n;
  }
  template <class T>
  void put(T v) { bytes(&v, sizeof v); }
  void str(const std::string& s) {
    put<uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  void pad(uint64_t alignment) {
    uint64_t n = (alignment - pos_ % alignment) % alignment;
    while (n) {
      size_t k = size_t(std::min<uint64_t>(n, sizeof kZeros));
      bytes(kZeros, k);
      n -= k;
    }
  }

 private:
  const Sink& sink_;
  uint64_t pos_ = 0;
};

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw Error(source + ": cannot write GGUF: " + what);
}

// Checks a value's stores agree with its declared type/count before writing.
void check_value(const std::string& source, const std::string& key, const MetaValue& v, int depth) {
  if (uint32_t(v.type) > uint32_t(MetaType::F64))
    fail(source, "metadata key '" + key + "' has unknown type " + std::to_string(uint32_t(v.type)));
  if (!v.is_array()) return;
  if (depth > 16) fail(source, "metadata key '" + key + "' nests arrays too deeply");
  if (uint32_t(v.elem_type) > uint32_t(MetaType::F64))
    fail(source, "metadata key '" + key + "' has unknown array element type");
  auto mismatch = [&](size_t have) {
    fail(source, "metadata key '" + key + "' declares " + std::to_string(v.count) + " " +
                     meta_type_name(v.elem_type) + " elements but holds " + std::to_string(have));
  };
  if (v.elem_type == MetaType::STRING) {
    if (v.strings.size() != v.count) mismatch(v.strings.size());
  } else if (v.elem_type == MetaType::ARRAY) {
    if (v.items.size() != v.count) mismatch(v.items.size());
    for (const MetaValue& item : v.items) {
      if (!item.is_array()) fail(source, "metadata key '" + key + "': nested element is not an array");
      check_value(source, key, item, depth + 1);
    }
  } else {
    size_t size = meta_type_size(v.elem_type);
    if (v.count > std::numeric_limits<uint64_t>::max() / size || v.raw.size() != v.count * size)
      mismatch(v.raw.size() / size);
  }
}

void put_value(Out& o, const MetaValue& v) {
  switch (v.type) {
    case MetaType::U8: o.put<uint8_t>(uint8_t(v.u)); break;
    case MetaType::I8: o.put<int8_t>(int8_t(v.i)); break;
    case MetaType::BOOL: o.put<uint8_t>(uint8_t(v.u)); break;
    case MetaType::U16: o.put<uint16_t>(uint16_t(v.u)); break;
    case MetaType::I16: o.put<int16_t>(int16_t(v.i)); break;
    case MetaType::U32: o.put<uint32_t>(uint32_t(v.u)); break;
    case MetaType::I32: o.put<int32_t>(int32_t(v.i)); break;
    case MetaType::U64: o.put<uint64_t>(v.u); break;
    case MetaType::I64: o.put<int64_t>(v.i); break;
    case MetaType::F32: o.put<float>(float(v.f)); break;
    case MetaType::F64: o.put<double>(v.f); break;
    case MetaType::STRING: o.str(v.str); break;
    case MetaType::ARRAY:
      o.put<uint32_t>(uint32_t(v.elem_type));
      o.put<uint64_t>(v.count);
      if (v.elem_type == MetaType::STRING)
        for (const std::string& s : v.strings) o.str(s);
      else if (v.elem_type == MetaType::ARRAY)
        for (const MetaValue& item : v.items) put_value(o, item);
      else
        o.bytes(v.raw.data(), v.raw.size());
      break;
  }
}

uint64_t checked_bytes(const std::string& source, const TensorToWrite& t) {
  auto traits = type_traits(t.type);
  if (!traits) fail(source, "tensor '" + t.name + "' has unknown type " + type_name(t.type));
  if (t.n_dims < 1 || t.n_dims > 4)
    fail(source, "tensor '" + t.name + "' has " + std::to_string(t.n_dims) + " dimensions, expected 1 to 4");
  int64_t n = 1;
  for (int d = 0; d < 4; ++d) {
    if (t.ne[d] < 1 || (d >= t.n_dims && t.ne[d] != 1))
      fail(source, "tensor '" + t.name + "' has dimension " + std::to_string(d) + " = " +
                       std::to_string(t.ne[d]));
    if (n > std::numeric_limits<int64_t>::max() / t.ne[d])
      fail(source, "tensor '" + t.name + "' has more than 2^63 elements");
    n *= t.ne[d];
  }
  if (t.ne[0] % int64_t(traits->block_elems) != 0)
    fail(source, "tensor '" + t.name + "' row length " + std::to_string(t.ne[0]) +
                     " is not a multiple of " + std::string(traits->name) + "'s block size " +
                     std::to_string(traits->block_elems));
  uint64_t bytes = uint64_t(n) / traits->block_elems * traits->block_bytes;
  if (t.data.size() != bytes)
    fail(source, "tensor '" + t.name + "' (" + std::string(traits->name) + ") holds " +
                     std::to_string(t.data.size()) + " bytes, its shape needs " + std::to_string(bytes));
  return bytes;
}

}  // namespace

uint64_t alignment_of(const Metadata& meta, const std::string& source) {
  const MetaValue* a = meta.find("general.alignment");
  if (!a) return kDefaultAlignment;
  // ggml only needs a power of two; the cap keeps padding arithmetic far from overflow.
  if (!a->is_integer() || a->i <= 0 || a->u > (uint64_t(1) << 30) || (a->u & (a->u - 1)) != 0)
    throw Error(source + ": general.alignment is " + a->to_string() + " (" + meta_type_name(a->type) +
                "), expected a power of two from 1 to 2^30");
  return a->u;
}

void serialize(const Metadata& meta, std::span<const TensorToWrite> tensors, const Sink& sink,
               const std::string& source) {
  const uint64_t alignment = alignment_of(meta, source);
  for (const auto& [key, v] : meta.entries()) check_value(source, key, v, 0);
  std::unordered_set<std::string> names;
  std::vector<uint64_t> sizes;
  sizes.reserve(tensors.size());
  for (const TensorToWrite& t : tensors) {
    if (!names.insert(t.name).second) fail(source, "duplicate tensor name '" + t.name + "'");
    sizes.push_back(checked_bytes(source, t));
  }

  Out o(sink);
  o.bytes(kMagic, 4);
  o.put<uint32_t>(kWriteVersion);
  o.put<uint64_t>(tensors.size());
  o.put<uint64_t>(meta.size());
  for (const auto& [key, v] : meta.entries()) {
    o.str(key);
    o.put<uint32_t>(uint32_t(v.type));
    put_value(o, v);
  }
  uint64_t offset = 0;
  for (size_t k = 0; k < tensors.size(); ++k) {
    const TensorToWrite& t = tensors[k];
    o.str(t.name);
    o.put<uint32_t>(uint32_t(t.n_dims));
    for (int d = 0; d < t.n_dims; ++d) o.put<uint64_t>(uint64_t(t.ne[d]));
    o.put<uint32_t>(uint32_t(t.type));
    o.put<uint64_t>(offset);
    offset += sizes[k] + (alignment - sizes[k] % alignment) % alignment;
  }
  if (tensors.empty()) return;
  o.pad(alignment);
  for (const TensorToWrite& t : tensors) {
    o.bytes(t.data.data(), t.data.size());
    o.pad(alignment);
  }
}

void write_file(const std::filesystem::path& path, const Metadata& meta,
                std::span<const TensorToWrite> tensors) {
  // OutputFile: temp + rename for regular files, streamed to devices, never over an input.
  OutputFile out(path);
  serialize(meta, tensors, [&](const void* p, size_t n) { out.write(p, n); }, path.string());
  out.commit();
}

}  // namespace tessel::gguf
