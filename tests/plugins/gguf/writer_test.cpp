// Every metadata type read into MetaValue as documented and written back
// byte-identically; general.alignment honoured; atomic writes; writer checks.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "gguf.hpp"
#include "gguf_bytes.hpp"
#include "support.hpp"
#include "tessel/error.hpp"

using namespace tessel;
using test::Bytes;
using test::kv;
namespace fs = std::filesystem;

namespace {

std::unique_ptr<ModelFile> parse(const std::string& bytes) {
  return gguf::parse(std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()), "mem.gguf");
}

std::string serialize(const ModelFile& f) {
  std::string out;
  auto tensors = gguf::tensors_to_write(f);
  gguf::serialize(f.meta, tensors, [&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); },
                  "mem.gguf");
  return out;
}

// One key of every type, arrays of every element type, nested arrays.
std::vector<std::string> every_type_kvs() {
  return {
      kv("u8", 0, Bytes().u8(250).b),
      kv("i8", 1, Bytes().put<int8_t>(-5).b),
      kv("u16", 2, Bytes().put<uint16_t>(65000).b),
      kv("i16", 3, Bytes().put<int16_t>(-300).b),
      kv("u32", 4, Bytes().u32(4000000000u).b),
      kv("i32", 5, Bytes().put<int32_t>(-7).b),
      kv("f32", 6, Bytes().put<float>(0.1f).b),
      kv("bool_t", 7, Bytes().u8(1).b),
      kv("bool_f", 7, Bytes().u8(0).b),
      kv("str", 8, Bytes().str("h\xc3\xa9llo\nworld").b),
      kv("u64", 10, Bytes().u64(~uint64_t(0)).b),
      kv("i64", 11, Bytes().put<int64_t>(-(int64_t(1) << 40)).b),
      kv("f64", 12, Bytes().put<double>(-2.5e300).b),
      kv("arr_i32", 9, Bytes().u32(5).u64(3).put<int32_t>(-1).put<int32_t>(0).put<int32_t>(7).b),
      kv("arr_f32", 9, Bytes().u32(6).u64(2).put<float>(1.5f).put<float>(-0.25f).b),
      kv("arr_u8", 9, Bytes().u32(0).u64(3).u8(1).u8(2).u8(255).b),
      kv("arr_bool", 9, Bytes().u32(7).u64(2).u8(1).u8(0).b),
      kv("arr_u64", 9, Bytes().u32(10).u64(1).u64(~uint64_t(0)).b),
      kv("arr_f64", 9, Bytes().u32(12).u64(1).put<double>(3.25).b),
      kv("arr_empty", 9, Bytes().u32(4).u64(0).b),
      kv("arr_str", 9, Bytes().u32(8).u64(3).str("a").str("").str("<s>").b),
      kv("arr_nested", 9,
         Bytes().u32(9).u64(2).u32(5).u64(2).put<int32_t>(1).put<int32_t>(2).u32(8).u64(1).str("x").b),
  };
}

}  // namespace

TEST_CASE("every metadata type reads into MetaValue and writes back identically") {
  test::FileSpec s;
  s.kvs = every_type_kvs();
  std::string image = build(s);
  auto f = parse(image);
  const Metadata& m = f->meta;
  REQUIRE(m.size() == s.kvs.size());

  CHECK(m.get("u8").type == MetaType::U8);
  CHECK(m.get("u8").u == 250);
  CHECK(m.get("u8").i == 250);
  CHECK(m.get("i8").i == -5);
  CHECK(m.get("i8").u == uint64_t(int64_t(-5)));
  CHECK(m.get("u16").u == 65000);
  CHECK(m.get("i16").i == -300);
  CHECK(m.get("u32").u == 4000000000u);
  CHECK(m.get("u32").i == 4000000000);
  CHECK(m.get("i32").i == -7);
  CHECK(m.get_int("i32") == -7);
  CHECK(m.get("f32").f == double(0.1f));
  CHECK(m.get_float("f32") == double(0.1f));
  CHECK(m.get("bool_t").u == 1);
  CHECK(m.get("bool_t").i == 1);
  CHECK(m.get_bool("bool_t", false));
  CHECK_FALSE(m.get_bool("bool_f", true));
  CHECK(m.get_string("str") == "h\xc3\xa9llo\nworld");
  CHECK(m.get("u64").u == ~uint64_t(0));
  CHECK(m.get("i64").i == -(int64_t(1) << 40));
  CHECK(m.get("f64").f == -2.5e300);

  const MetaValue& ai = m.get("arr_i32");
  CHECK(ai.is_array());
  CHECK(ai.elem_type == MetaType::I32);
  CHECK(ai.count == 3);
  CHECK(ai.raw.size() == 12);
  CHECK(m.get_ints("arr_i32") == std::vector<int64_t>{-1, 0, 7});
  CHECK(m.get_floats("arr_f32") == std::vector<float>{1.5f, -0.25f});
  CHECK(m.get_ints("arr_u8") == std::vector<int64_t>{1, 2, 255});
  CHECK(m.get_ints("arr_bool") == std::vector<int64_t>{1, 0});
  CHECK(m.get("arr_u64").raw.size() == 8);
  CHECK(m.get("arr_f64").number_at(0) == 3.25);
  CHECK(m.get("arr_empty").count == 0);
  CHECK(m.get_strings("arr_str") == std::vector<std::string>{"a", "", "<s>"});
  const MetaValue& nested = m.get("arr_nested");
  CHECK(nested.elem_type == MetaType::ARRAY);
  REQUIRE(nested.items.size() == 2);
  CHECK(nested.items[0].elem_type == MetaType::I32);
  CHECK(nested.items[0].int_at(1) == 2);
  CHECK(nested.items[1].strings == std::vector<std::string>{"x"});

  CHECK(serialize(*f) == image);
}

TEST_CASE("general.alignment is honoured and round-trips") {
  test::FileSpec s;
  s.alignment = 64;
  s.kvs.push_back(test::kv_u32("general.alignment", 64));
  s.tensors = {{"a", {4, 2}, 0, 0}, {"b", {8}, 0, 64}};
  s.data_bytes = 96;
  std::string image = build(s);
  // The gap between "a" (32 bytes) and "b" is padding: zeros, as ggml writes it.
  image.replace(image.size() - 64, 32, std::string(32, '\0'));
  auto f = parse(image);
  CHECK(f->alignment == 64);
  CHECK(f->data_offset % 64 == 0);
  CHECK(f->get("b").offset == 64);
  // Misaligned for 64 even though it would be fine for 32.
  s.tensors[1].offset = 32;
  CHECK_THROWS_WITH(parse(build(s)), Catch::Contains("not a multiple of the alignment 64"));
  // The writer pads the last tensor to 64 as ggml does.
  std::string out = serialize(*f);
  CHECK(out.size() == image.size() + 32);
  CHECK(out.substr(0, image.size()) == image);
}

TEST_CASE("writer builds a file from scratch that reads back") {
  Metadata meta;
  meta.set("general.architecture", MetaValue::of_string("llama"));
  meta.set("llama.block_count", MetaValue::of_u32(1));
  meta.set("scale", MetaValue::of_f32(0.5f));
  meta.set("flag", MetaValue::of_bool(true));
  meta.set("names", MetaValue::of_strings({"x", "y"}));
  meta.set("ids", MetaValue::of_i32s({3, -4}));
  std::vector<float> w(8 * 3);
  for (size_t k = 0; k < w.size(); ++k) w[k] = float(k) - 4;
  std::vector<uint8_t> q(2 * 34, 0x5a);
  std::vector<TensorToWrite> tensors{
      {"w", TypeId::F32, 2, {8, 3, 1, 1}, std::as_bytes(std::span(w))},
      {"q", TypeId::Q8_0, 1, {64, 1, 1, 1}, std::as_bytes(std::span(q))},
  };
  fs::path dir = test::temp_dir();
  fs::path out = dir / "new.gguf";
  gguf::GgufFormat fmt;
  REQUIRE(fmt.can_write());
  fmt.write(out, meta, tensors);
  CHECK(fmt.can_open(out));
  auto f = fmt.open(out);
  CHECK(f->version == 3);
  CHECK(f->meta.get_string("general.architecture") == "llama");
  CHECK(f->meta.get_float("scale") == 0.5);
  CHECK(f->meta.get_bool("flag", false));
  CHECK(f->meta.get_strings("names") == std::vector<std::string>{"x", "y"});
  CHECK(f->meta.get_ints("ids") == std::vector<int64_t>{3, -4});
  CHECK(f->get("w").offset == 0);
  CHECK(f->get("q").offset == 96);
  CHECK(std::memcmp(f->get("w").data.data(), w.data(), 96) == 0);
  CHECK(f->get("q").data.size() == 68);
  CHECK(fs::file_size(out) == f->data_offset + 96 + 96);  // 68 padded to 96
  fs::remove_all(dir);
}

TEST_CASE("writer refuses bad input and leaves nothing behind") {
  fs::path dir = test::temp_dir();
  fs::path out = dir / "x.gguf";
  std::vector<float> w(8);
  Metadata meta;
  auto refuse = [&](std::vector<TensorToWrite> t, const Metadata& m, const std::string& what) {
    INFO(what);
    CHECK_THROWS_WITH(gguf::write_file(out, m, t), Catch::Contains(out.string()) && Catch::Contains(what));
    CHECK(fs::is_empty(dir));
  };
  auto bytes = std::as_bytes(std::span(w));
  refuse({{"w", TypeId::F32, 1, {7, 1, 1, 1}, bytes}}, meta, "holds 32 bytes, its shape needs 28");
  refuse({{"w", TypeId::F32, 1, {8, 1, 1, 1}, bytes}, {"w", TypeId::F32, 1, {8, 1, 1, 1}, bytes}}, meta,
         "duplicate tensor name 'w'");
  refuse({{"w", TypeId::Q4_0, 1, {16, 1, 1, 1}, bytes}}, meta, "not a multiple of Q4_0's block size 32");
  refuse({{"w", TypeId(99), 1, {8, 1, 1, 1}, bytes}}, meta, "unknown type");
  refuse({{"w", TypeId::F32, 5, {8, 1, 1, 1}, bytes}}, meta, "5 dimensions");
  Metadata bad_align;
  bad_align.set("general.alignment", MetaValue::of_u32(24));
  refuse({}, bad_align, "general.alignment is 24");
  Metadata bad_array;
  MetaValue arr = MetaValue::of_i32s({1, 2});
  arr.count = 3;
  bad_array.set("ids", arr);
  refuse({}, bad_array, "declares 3 i32 elements but holds 2");

  // A folder that does not exist: the temp file can't be created.
  CHECK_THROWS_WITH(gguf::write_file(dir / "missing" / "x.gguf", meta, {}), Catch::Contains("cannot create"));
  fs::remove_all(dir);
}

TEST_CASE("writing over an existing file replaces it whole") {
  fs::path dir = test::temp_dir();
  fs::path out = dir / "x.gguf";
  test::write_text(out, std::string(10000, 'z'));
  Metadata meta;
  meta.set("general.architecture", MetaValue::of_string("llama"));
  gguf::write_file(out, meta, {});
  auto f = gguf::read_file(out);
  CHECK(f->tensors.empty());
  CHECK(fs::file_size(out) == 4 + 4 + 8 + 8 + 8 + 20 + 4 + 8 + 5);
  fs::remove(out);
  CHECK(fs::is_empty(dir));
  fs::remove_all(dir);
}
