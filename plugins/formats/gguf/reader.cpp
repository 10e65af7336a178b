// GGUF reader. Every count, length and offset comes from an untrusted file, so
// each is checked against the bytes that remain BEFORE anything is allocated:
// a malformed file ends in a tessel::Error naming the file and the problem,
// never in a crash, a hang or a huge allocation.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <unordered_set>

#include "gguf.hpp"
#include "tessel/error.hpp"

namespace tessel::gguf {
namespace {

constexpr uint8_t kMagic[4] = {'G', 'G', 'U', 'F'};
// Nested arrays recurse; bound the depth so a file can't exhaust the stack.
constexpr int kMaxArrayDepth = 16;
// Smallest encodings, used to bound counts by the bytes that remain.
constexpr uint64_t kMinStringBytes = 8;       // u64 length, empty text
constexpr uint64_t kMinArrayBytes = 12;       // u32 type + u64 count
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;   // key length, type, 1-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;

std::string offset_text(uint64_t v) { return std::to_string(v); }

// A bounds-checked read position over the file image. `where` describes what
// is being read (set by the caller) so errors say "metadata key 'x': ...".
class Cursor {
 public:
  Cursor(std::span<const std::byte> bytes, const std::string& source)
      : p_(reinterpret_cast<const uint8_t*>(bytes.data())), n_(bytes.size()), source_(source) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return n_ - pos_; }
  std::string where;

  [[noreturn]] void fail(const std::string& problem) const {
    throw Error(source_ + ": " + (where.empty() ? "" : where + ": ") + problem);
  }

  void need(uint64_t bytes, const char* what) const {
    if (bytes > remaining())
      fail("file is truncated: " + std::string(what) + " needs " + std::to_string(bytes) +
           " bytes at offset " + offset_text(pos_) + " but only " + std::to_string(remaining()) +
           " remain");
  }

  template <class T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }

  const uint8_t* take(uint64_t bytes, const char* what) {
    need(bytes, what);
    const uint8_t* at = p_ + pos_;
    pos_ += bytes;
    return at;
  }

  std::string read_string(const char* what) {
    uint64_t len = read<uint64_t>(what);
    if (len > remaining())
      fail(std::string(what) + " claims " + std::to_string(len) + " bytes at offset " +
           offset_text(pos_) + " but only " + std::to_string(remaining()) + " remain in the file");
    const uint8_t* at = take(len, what);
    return std::string(reinterpret_cast<const char*>(at), size_t(len));
  }

 private:
  const uint8_t* p_;
  uint64_t n_;
  uint64_t pos_ = 0;
  const std::string& source_;
};

bool valid_meta_type(uint32_t t) { return t <= uint32_t(MetaType::F64); }

MetaType read_meta_type(Cursor& c, const char* what) {
  uint32_t t = c.read<uint32_t>(what);
  if (!valid_meta_type(t)) c.fail("unknown value type " + std::to_string(t) + " (GGUF types are 0..12)");
  return MetaType(t);
}

template <class T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Scalars: integers and bools in u and i (and f), floats in f — as the
// MetaValue::of_* constructors fill them.
void read_scalar(Cursor& c, MetaValue& v) {
  size_t size = meta_type_size(v.type);
  const uint8_t* p = c.take(size, "value");
  auto set_u = [&](uint64_t x) { v.u = x; v.i = int64_t(x); v.f = double(x); };
  auto set_i = [&](int64_t x) { v.i = x; v.u = uint64_t(x); v.f = double(x); };
  switch (v.type) {
    case MetaType::U8: set_u(*p); break;
    case MetaType::I8: set_i(int8_t(*p)); break;
    case MetaType::BOOL: set_u(*p); break;
    case MetaType::U16: set_u(load<uint16_t>(p)); break;
    case MetaType::I16: set_i(load<int16_t>(p)); break;
    case MetaType::U32: set_u(load<uint32_t>(p)); break;
    case MetaType::I32: set_i(load<int32_t>(p)); break;
    case MetaType::U64: set_u(load<uint64_t>(p)); break;
    case MetaType::I64: set_i(load<int64_t>(p)); break;
    case MetaType::F32: v.f = load<float>(p); break;
    case MetaType::F64: v.f = load<double>(p); break;
    default: c.fail("internal: not a scalar type");
  }
}

MetaValue read_value(Cursor& c, MetaType type, int depth);

void read_array(Cursor& c, MetaValue& v, int depth) {
  if (depth >= kMaxArrayDepth)
    c.fail("arrays nested deeper than " + std::to_string(kMaxArrayDepth) + " levels");
  v.elem_type = read_meta_type(c, "array element type");
  v.count = c.read<uint64_t>("array length");
  const std::string elem = meta_type_name(v.elem_type);
  auto too_long = [&](uint64_t min_bytes) {
    if (v.count > c.remaining() / min_bytes)
      c.fail("array of " + std::to_string(v.count) + " " + elem + " elements needs at least " +
             (v.count > std::numeric_limits<uint64_t>::max() / min_bytes
                  ? std::string("more than 2^64")
                  : std::to_string(v.count * min_bytes)) +
             " bytes at offset " + offset_text(c.pos()) + " but only " +
             std::to_string(c.remaining()) + " remain in the file");
  };
  if (v.elem_type == MetaType::STRING) {
    too_long(kMinStringBytes);
    v.strings.reserve(size_t(v.count));
    for (uint64_t k = 0; k < v.count; ++k) v.strings.push_back(c.read_string("array string"));
  } else if (v.elem_type == MetaType::ARRAY) {
    too_long(kMinArrayBytes);
    v.items.reserve(size_t(v.count));
    for (uint64_t k = 0; k < v.count; ++k) v.items.push_back(read_value(c, MetaType::ARRAY, depth + 1));
  } else {
    uint64_t size = meta_type_size(v.elem_type);
    too_long(size);
    const uint8_t* p = c.take(v.count * size, "array data");
    v.raw.assign(p, p + v.count * size);
  }
}

MetaValue read_value(Cursor& c, MetaType type, int depth) {
  MetaValue v;
  v.type = type;
  if (type == MetaType::STRING) v.str = c.read_string("string value");
  else if (type == MetaType::ARRAY) read_array(c, v, depth);
  else read_scalar(c, v);
  return v;
}

void read_header_version(Cursor& c, ModelFile& f) {
  const uint8_t* magic = c.take(4, "magic");
  if (std::memcmp(magic, kMagic, 4) != 0) {
    std::string shown;
    for (int k = 0; k < 4; ++k) {
      char ch = char(magic[k]);
      shown += (ch >= 32 && ch < 127) ? std::string(1, ch) : "\\x" + std::to_string(magic[k]);
    }
    c.fail("not a GGUF file (starts with '" + shown + "', expected 'GGUF')");
  }
  uint32_t version = c.read<uint32_t>("version");
  uint32_t swapped = __builtin_bswap32(version);
  if ((version & 0xFFFFu) == 0 && swapped >= 1 && swapped <= 3)
    c.fail("big-endian GGUF file (version " + std::to_string(swapped) +
           " stored byte-swapped): only little-endian GGUF files are supported");
  if (version == 1)
    c.fail("GGUF version 1 is not supported (it predates 64-bit counts); convert the file "
           "to version 3 with llama.cpp");
  if (version != 2 && version != 3)
    c.fail("unsupported GGUF version " + std::to_string(version) + " (supported: 2 and 3)");
  f.version = version;
}

// Key/value section: keys unique, general.alignment a positive power of two.
void read_metadata(Cursor& c, ModelFile& f, uint64_t n_kv) {
  std::unordered_set<std::string> seen;
  for (uint64_t k = 0; k < n_kv; ++k) {
    c.where = "metadata key #" + std::to_string(k);
    std::string key = c.read_string("key");
    c.where = "metadata key '" + key + "'";
    if (!seen.insert(key).second) c.fail("duplicate key");
    MetaType type = read_meta_type(c, "value type");
    f.meta.set(key, read_value(c, type, 0));
  }
  c.where.clear();
  f.alignment = alignment_of(f.meta, f.meta.source);
}

struct Extent {
  uint64_t begin, end;
  size_t tensor;
};

void read_tensor_infos(Cursor& c, ModelFile& f, uint64_t n_tensors) {
  std::unordered_set<std::string> names;
  f.tensors.reserve(size_t(n_tensors));
  for (uint64_t k = 0; k < n_tensors; ++k) {
    c.where = "tensor #" + std::to_string(k);
    TensorInfo t;
    t.name = c.read_string("tensor name");
    c.where = "tensor '" + t.name + "'";
    if (!names.insert(t.name).second) c.fail("duplicate tensor name");
    uint32_t n_dims = c.read<uint32_t>("dimension count");
    if (n_dims == 0 || n_dims > 4)
      c.fail("has " + std::to_string(n_dims) + " dimensions, expected 1 to 4");
    t.n_dims = int(n_dims);
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t ne = c.read<uint64_t>("dimension");
      if (ne == 0 || ne > uint64_t(std::numeric_limits<int64_t>::max()))
        c.fail("dimension " + std::to_string(d) + " is " +
               (ne == 0 ? std::string("0") : std::to_string(int64_t(ne))) + ", expected a positive size");
      t.ne[d] = int64_t(ne);
    }
    uint32_t type = c.read<uint32_t>("type");
    t.type = TypeId(type);
    auto traits = type_traits(t.type);
    if (!traits) c.fail("unknown tensor type id " + std::to_string(type));
    t.offset = c.read<uint64_t>("data offset");

    // Shape: the element count must fit in int64 (as ggml requires).
    int64_t n = 1;
    for (int d = 0; d < 4; ++d) {
      if (n > std::numeric_limits<int64_t>::max() / t.ne[d])
        c.fail("shape " + t.shape_string() + " has more than 2^63 elements");
      n *= t.ne[d];
    }
    if (t.ne[0] % int64_t(traits->block_elems) != 0)
      c.fail("row length " + std::to_string(t.ne[0]) + " is not a multiple of " +
             std::string(traits->name) + "'s block size " + std::to_string(traits->block_elems));
    f.tensors.push_back(std::move(t));
  }
  c.where.clear();
}

uint64_t tensor_bytes(const TensorInfo& t, const Cursor& c) {
  auto traits = *type_traits(t.type);
  uint64_t blocks = uint64_t(t.n_elements()) / traits.block_elems;
  if (blocks > std::numeric_limits<uint64_t>::max() / traits.block_bytes)
    c.fail("tensor '" + t.name + "': size overflows 64 bits");
  return blocks * traits.block_bytes;
}

// Data: every tensor aligned, inside the file, and not overlapping another.
void place_tensors(Cursor& c, ModelFile& f, std::span<const std::byte> bytes) {
  const uint64_t file_size = bytes.size();
  uint64_t end_of_infos = c.pos();
  uint64_t pad = (f.alignment - end_of_infos % f.alignment) % f.alignment;
  if (pad > std::numeric_limits<uint64_t>::max() - end_of_infos)
    c.fail("general.alignment " + std::to_string(f.alignment) + " puts the data section past 2^64");
  f.data_offset = end_of_infos + pad;
  if (f.tensors.empty()) return;  // vocab-only files may end before the padding
  if (f.data_offset > file_size)
    c.fail("file is truncated: the tensor data section starts at offset " +
           std::to_string(f.data_offset) + " but the file has " + std::to_string(file_size) + " bytes");
  const uint64_t data_size = file_size - f.data_offset;
  std::vector<Extent> extents;
  extents.reserve(f.tensors.size());
  for (size_t k = 0; k < f.tensors.size(); ++k) {
    TensorInfo& t = f.tensors[k];
    uint64_t size = tensor_bytes(t, c);
    auto where = [&] { return "tensor '" + t.name + "' (" + type_name(t.type) + " " + t.shape_string() + ")"; };
    if (t.offset % f.alignment != 0)
      c.fail(where() + ": data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
             std::to_string(f.alignment));
    if (t.offset > data_size || size > data_size - t.offset)
      c.fail(where() + ": data [" + std::to_string(t.offset) + ", +" + std::to_string(size) +
             ") lies outside the data section of " + std::to_string(data_size) +
             " bytes (file is truncated or the offset is wrong)");
    t.data = bytes.subspan(size_t(f.data_offset + t.offset), size_t(size));
    extents.push_back({t.offset, t.offset + size, k});
  }
  std::sort(extents.begin(), extents.end(), [](const Extent& a, const Extent& b) { return a.begin < b.begin; });
  for (size_t k = 1; k < extents.size(); ++k)
    if (extents[k].begin < extents[k - 1].end)
      c.fail("tensor '" + f.tensors[extents[k].tensor].name + "' data at offset " +
             std::to_string(extents[k].begin) + " overlaps tensor '" +
             f.tensors[extents[k - 1].tensor].name + "' (ends at " + std::to_string(extents[k - 1].end) + ")");
}

// Keeps the read-only mapping alive for as long as any tensor view is used.
struct Mapping {
  void* addr = nullptr;
  size_t size = 0;
  std::vector<void*> copies;  // aligned copies of tensors the file left misaligned
  ~Mapping() {
    if (addr) munmap(addr, size);
    for (void* p : copies) std::free(p);
  }
};

// general.alignment may legally be anything down to 1, but the kernels read
// floats and quant blocks at their natural alignment (misaligned loads are UB
// and trap on some CPUs): a tensor off a 32-byte boundary gets an aligned copy.
// Files written with the default alignment never pay for this.
void align_tensors(ModelFile& f, Mapping& map) {
  constexpr size_t kAlign = 32;
  for (TensorInfo& t : f.tensors) {
    t.file_mapped = true;
    if (t.data.empty() || reinterpret_cast<uintptr_t>(t.data.data()) % kAlign == 0) continue;
    const size_t n = t.data.size();
    void* p = std::aligned_alloc(kAlign, (n + kAlign - 1) / kAlign * kAlign);
    if (!p)
      throw Error(f.path.string() + ": out of memory copying misaligned tensor '" + t.name + "' (" +
                  std::to_string(n) + " bytes)");
    map.copies.push_back(p);
    std::memcpy(p, t.data.data(), n);
    t.data = std::span(static_cast<const std::byte*>(p), n);
    t.file_mapped = false;
  }
}

}  // namespace

std::unique_ptr<ModelFile> parse(std::span<const std::byte> bytes, const std::string& source) {
  auto f = std::make_unique<ModelFile>();
  f->path = source;
  f->format = "gguf";
  f->meta.source = source;
  Cursor c(bytes, source);
  read_header_version(c, *f);
  uint64_t n_tensors = c.read<uint64_t>("tensor count");
  uint64_t n_kv = c.read<uint64_t>("metadata key count");
  if (n_kv > c.remaining() / kMinKvBytes)
    c.fail("header claims " + std::to_string(n_kv) + " metadata keys, more than the " +
           std::to_string(c.remaining()) + " remaining bytes can hold");
  if (n_tensors > c.remaining() / kMinTensorInfoBytes)
    c.fail("header claims " + std::to_string(n_tensors) + " tensors, more than the " +
           std::to_string(c.remaining()) + " remaining bytes can hold");
  read_metadata(c, *f, n_kv);
  if (n_tensors > c.remaining() / kMinTensorInfoBytes)
    c.fail("file is truncated: header claims " + std::to_string(n_tensors) + " tensors but only " +
           std::to_string(c.remaining()) + " bytes remain after the metadata");
  read_tensor_infos(c, *f, n_tensors);
  place_tensors(c, *f, bytes);
  f->build_index();
  return f;
}

std::unique_ptr<ModelFile> read_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw Error(name + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    throw Error(name + ": cannot stat: " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(name + ": not a regular file, expected a GGUF file");
  }
  if (st.st_size == 0) {
    ::close(fd);
    throw Error(name + ": file is empty, expected a GGUF file");
  }
  auto map = std::make_shared<Mapping>();
  map->size = size_t(st.st_size);
  void* addr = mmap(nullptr, map->size, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  ::close(fd);
  if (addr == MAP_FAILED) throw Error(name + ": cannot map the file into memory: " + std::strerror(e));
  map->addr = addr;
  auto f = parse(std::span(static_cast<const std::byte*>(addr), map->size), name);
  f->path = path;
  align_tensors(*f, *map);
  f->storage = std::move(map);
  return f;
}

bool has_magic(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;  // a FIFO would block
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  if (!in.read(magic, 4)) return false;
  return std::memcmp(magic, kMagic, 4) == 0;
}

std::vector<TensorToWrite> tensors_to_write(const ModelFile& file) {
  std::vector<TensorToWrite> out;
  out.reserve(file.tensors.size());
  for (const TensorInfo& t : file.tensors) out.push_back({t.name, t.type, t.n_dims, t.ne, t.data});
  return out;
}

}  // namespace tessel::gguf
