// Every malformed file ends in a tessel::Error that starts with the file's
// path and names the problem — one case per kind of damage.
#include <catch2/catch.hpp>
#include <filesystem>

#include "gguf.hpp"
#include "gguf_bytes.hpp"
#include "support.hpp"
#include "tessel/error.hpp"

using namespace tessel;
using test::Bytes;
using test::FileSpec;
using test::build;
using test::kv;
namespace fs = std::filesystem;

namespace {

// Writes `bytes` to a temporary .gguf and requires the reader to fail with a
// message that starts with the path and contains `what`.
void expect_error(const std::string& bytes, const std::string& what) {
  fs::path dir = test::temp_dir();
  fs::path p = dir / "bad.gguf";
  test::write_text(p, bytes);
  std::string msg;
  try {
    gguf::read_file(p);
  } catch (const Error& e) {
    msg = e.what();
  }
  fs::remove_all(dir);
  INFO("expected an error containing: " << what);
  INFO("got: " << msg);
  REQUIRE_FALSE(msg.empty());
  CHECK(msg.rfind(p.string() + ": ", 0) == 0);
  CHECK(msg.find(what) != std::string::npos);
}

std::unique_ptr<ModelFile> parse(const std::string& bytes) {
  return gguf::parse(std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()), "mem.gguf");
}

std::string with_tensors(std::vector<test::TensorSpec> t, size_t data_bytes = 64) {
  FileSpec s;
  s.tensors = std::move(t);
  s.data_bytes = data_bytes;
  return build(s);
}

std::string with_kvs(std::vector<std::string> kvs) {
  FileSpec s;
  s.kvs = std::move(kvs);
  return build(s);
}

}  // namespace

TEST_CASE("the hand-built base file is valid") {
  const std::string bytes = build(FileSpec{});  // the tensors are views into these bytes
  auto f = parse(bytes);
  REQUIRE(f->tensors.size() == 2);
  CHECK(f->get("a").data.size() == 32);
  CHECK(f->get("b").offset == 32);
  CHECK(std::to_integer<int>(f->get("b").data[1]) == 33);
}

TEST_CASE("bad magic") {
  FileSpec s;
  s.magic = "GGML";
  expect_error(build(s), "not a GGUF file");
}

TEST_CASE("version 1 is refused clearly") {
  FileSpec s;
  s.version = 1;
  expect_error(build(s), "GGUF version 1 is not supported");
}

TEST_CASE("unknown versions are refused") {
  for (uint32_t v : {0u, 4u, 77u}) {
    FileSpec s;
    s.version = v;
    expect_error(build(s), "unsupported GGUF version " + std::to_string(v));
  }
}

TEST_CASE("version 2 reads like version 3") {
  FileSpec s;
  s.version = 2;
  auto f = parse(build(s));
  CHECK(f->version == 2);
  CHECK(f->tensors.size() == 2);
}

TEST_CASE("big-endian files are named as such") {
  FileSpec s;
  s.version = 0x03000000;  // 3 stored big-endian
  expect_error(build(s), "big-endian");
}

TEST_CASE("empty and missing files") {
  expect_error("", "file is empty");
  expect_error("GGU", "file is truncated");
  std::string msg;
  try {
    gguf::read_file("/nonexistent/x.gguf");
  } catch (const Error& e) {
    msg = e.what();
  }
  CHECK(msg.find("/nonexistent/x.gguf: cannot open") == 0);
}

TEST_CASE("truncation anywhere: every prefix of a valid file fails") {
  std::string full = build(FileSpec{});
  for (size_t n = 0; n < full.size(); ++n) {
    INFO("prefix of " << n << " bytes");
    std::string msg;
    try {
      parse(full.substr(0, n));
    } catch (const Error& e) {
      msg = e.what();
    }
    REQUIRE(msg.rfind("mem.gguf: ", 0) == 0);
  }
  // Header, key/values, tensor infos and data each report truncation.
  expect_error(full.substr(0, 20), "truncated");
  expect_error(full.substr(0, 40), "metadata key");
  expect_error(full.substr(0, full.size() - 64 - 10), "tensor");
  expect_error(full.substr(0, full.size() - 1), "tensor 'b'");
}

TEST_CASE("counts larger than the file") {
  FileSpec s;
  s.n_kv = int64_t(1) << 60;
  expect_error(build(s), "metadata keys, more than");
  s = FileSpec{};
  s.n_tensors = int64_t(1) << 40;
  expect_error(build(s), "tensors, more than");
  s = FileSpec{};
  s.n_tensors = 3;  // fits the bytes but there are only two infos
  expect_error(build(s), "tensor");
}

TEST_CASE("string lengths larger than the file") {
  expect_error(with_kvs({Bytes().u64(uint64_t(1) << 62).b}), "metadata key #0: key claims");
  expect_error(with_kvs({kv("k", 8, Bytes().u64(1000000).b)}), "metadata key 'k': string value claims");
  // Rewrite the first tensor name's length field (it follows the key/values).
  std::string bytes = build(FileSpec{});
  size_t at = bytes.find(std::string("\x01\x00\x00\x00\x00\x00\x00\x00" "a", 9));
  REQUIRE(at != std::string::npos);
  uint64_t huge = ~uint64_t(0);
  bytes.replace(at, 8, reinterpret_cast<const char*>(&huge), 8);
  expect_error(bytes, "tensor #0: tensor name claims");
}

TEST_CASE("array counts larger than the file") {
  expect_error(with_kvs({kv("n", 9, Bytes().u32(4).u64(uint64_t(1) << 61).b)}),
               "metadata key 'n': array of 2305843009213693952 u32 elements");
  expect_error(with_kvs({kv("s", 9, Bytes().u32(8).u64(~uint64_t(0)).b)}), "array of");
  expect_error(with_kvs({kv("x", 9, Bytes().u32(9).u64(uint64_t(1) << 50).b)}), "array of");
  expect_error(with_kvs({kv("s", 9, Bytes().u32(8).u64(2).str("ok").u64(99999).b)}), "array string claims");
}

TEST_CASE("unknown metadata value types") {
  expect_error(with_kvs({kv("k", 13, "")}), "metadata key 'k': unknown value type 13");
  expect_error(with_kvs({kv("k", 9, Bytes().u32(200).u64(1).b)}), "unknown value type 200");
}

TEST_CASE("arrays nested too deeply") {
  Bytes x;
  for (int d = 0; d < 40; ++d) x.u32(9).u64(1);
  x.u32(4).u64(0);
  expect_error(with_kvs({kv("deep", 9, x.b)}), "nested deeper");
}

TEST_CASE("duplicate keys") {
  expect_error(with_kvs({test::kv_u32("k", 1), test::kv_u32("k", 2)}), "metadata key 'k': duplicate key");
}

TEST_CASE("bad general.alignment") {
  expect_error(with_kvs({test::kv_u32("general.alignment", 0)}), "general.alignment is 0");
  expect_error(with_kvs({test::kv_u32("general.alignment", 48)}), "expected a power of two from 1 to 2^30");
  expect_error(with_kvs({kv("general.alignment", 5, Bytes().put<int32_t>(-32).b)}), "power of two");
  expect_error(with_kvs({kv("general.alignment", 6, Bytes().put<float>(32).b)}), "(f32)");
  expect_error(with_kvs({kv("general.alignment", 10, Bytes().u64(uint64_t(1) << 63).b)}), "2^30");
}

TEST_CASE("tensor data out of bounds") {
  expect_error(with_tensors({{"a", {4, 2}, 0, 0}, {"b", {8}, 0, 64}}), "tensor 'b' (F32 [8]): data [64, +32) lies outside");
  expect_error(with_tensors({{"a", {4, 2}, 0, uint64_t(1) << 40}}), "1099511627776");
  expect_error(with_tensors({{"a", {4, 2}, 0, ~uint64_t(0) - 31}}), "outside");
  expect_error(with_tensors({{"a", {4, 2}, 0, 0}, {"b", {8}, 0, 32}}, 63), "tensor 'b'");
}

TEST_CASE("tensor data overlapping another tensor") {
  expect_error(with_tensors({{"a", {4, 2}, 0, 0}, {"b", {8}, 0, 0}}), "overlaps tensor");
  expect_error(with_tensors({{"a", {16}, 0, 0}, {"b", {8}, 0, 32}}, 96), "tensor 'b' data at offset 32 overlaps tensor 'a'");
}

TEST_CASE("misaligned tensor offset") {
  expect_error(with_tensors({{"a", {4}, 0, 16}}), "not a multiple of the alignment 32");
}

TEST_CASE("unknown tensor type ids") {
  for (uint32_t t : {4u, 5u, 31u, 99u, 0xFFFFFFFFu})
    expect_error(with_tensors({{"a", {32}, t, 0}}), "tensor 'a': unknown tensor type id " + std::to_string(t));
}

TEST_CASE("dimension counts outside 1..4") {
  expect_error(with_tensors({{"a", {}, 0, 0}}), "tensor 'a': has 0 dimensions");
  expect_error(with_tensors({{"a", {1, 1, 1, 1, 1}, 0, 0}}), "has 5 dimensions");
  expect_error(with_tensors({{"a", {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 0, 0}}), "expected 1 to 4");
}

TEST_CASE("non-positive dimensions and shape overflow") {
  expect_error(with_tensors({{"a", {4, 0}, 0, 0}}), "tensor 'a': dimension 1 is 0");
  expect_error(with_tensors({{"a", {~uint64_t(0)}, 0, 0}}), "dimension 0 is -1");
  expect_error(with_tensors({{"a", {uint64_t(1) << 32, uint64_t(1) << 32}, 0, 0}}), "more than 2^63 elements");
  expect_error(with_tensors({{"a", {uint64_t(1) << 62}, 0, 0}}), "size overflows 64 bits");  // 2^64 bytes of F32
  expect_error(with_tensors({{"a", {uint64_t(1) << 62, 2}, 1, 0}}), "more than 2^63");
}

TEST_CASE("row length not a multiple of the block size") {
  expect_error(with_tensors({{"a", {16, 2}, 2, 0}}), "row length 16 is not a multiple of Q4_0's block size 32");
  expect_error(with_tensors({{"a", {128}, 12, 0}}), "Q4_K's block size 256");
}

TEST_CASE("duplicate tensor names") {
  expect_error(with_tensors({{"a", {4, 2}, 0, 0}, {"a", {8}, 0, 32}}), "tensor 'a': duplicate tensor name");
}

TEST_CASE("types without a codec load with their geometry") {
  struct Case { TypeId type; uint64_t bytes; };
  for (Case c : {Case{TypeId::IQ2_XXS, 66}, Case{TypeId::IQ4_XS, 136}, Case{TypeId::TQ1_0, 54},
                 Case{TypeId::TQ2_0, 66}, Case{TypeId::MXFP4, 8 * 17}, Case{TypeId::IQ1_M, 56}}) {
    INFO(type_name(c.type));
    std::string bytes = with_tensors({{"w", {256}, uint32_t(c.type), 0}}, size_t(c.bytes));
    auto f = parse(bytes);
    CHECK(f->get("w").type == c.type);
    CHECK(f->get("w").data.size() == c.bytes);
  }
}
