#include <catch2/catch.hpp>

#include "support.hpp"
#include "tessel/error.hpp"
#include "tessel/half.hpp"
#include "tessel/metadata.hpp"
#include "tessel/npy.hpp"
#include "tessel/types.hpp"

using namespace tessel;
using Catch::Matchers::Contains;

TEST_CASE("type traits match ggml's block geometry") {
  CHECK(type_traits(TypeId::Q4_0)->block_bytes == 18);
  CHECK(type_traits(TypeId::Q4_K)->block_elems == 256);
  CHECK(type_traits(TypeId::Q6_K)->block_bytes == 210);
  CHECK(type_traits(TypeId::Q8_K)->block_bytes == 292);
  CHECK(!type_traits(TypeId(99)));
  CHECK(type_name(TypeId(99)) == "type 99");
  CHECK(type_from_name("q8_0") == TypeId::Q8_0);
  CHECK(row_bytes(TypeId::Q8_0, 64) == 68);
  REQUIRE_THROWS_WITH(row_bytes(TypeId::Q8_0, 33), Contains("not a multiple of Q8_0's block size 32"));
}

TEST_CASE("fp16 and bf16 conversions round to nearest even") {
  CHECK(fp16_to_fp32(fp32_to_fp16(1.0f)) == 1.0f);
  CHECK(fp32_to_fp16(65504.0f) == 0x7bff);
  CHECK(fp32_to_fp16(1.0f + 1.0f / 2048) == 0x3c00);          // tie → even
  CHECK(fp32_to_fp16(1.0f + 3.0f / 2048) == 0x3c02);          // tie → even (up)
  CHECK(fp16_to_fp32(0x0001) == Approx(5.960464477539063e-08f));
  CHECK(bf16_to_fp32(fp32_to_bf16(3.140625f)) == 3.140625f);
  for (uint32_t h = 0; h < 0x7c00; ++h) REQUIRE(fp32_to_fp16(fp16_to_fp32(uint16_t(h))) == h);
}

TEST_CASE("metadata getters name the key and the expected type") {
  Metadata m;
  m.source = "m.gguf";
  m.set("a.int", MetaValue::of_u32(7));
  m.set("a.str", MetaValue::of_string("x"));
  m.set("a.arr", MetaValue::of_f32s({1.5f, 2.5f}));
  CHECK(m.get_int("a.int") == 7);
  CHECK(m.get_float("a.int") == 7.0);
  CHECK(m.get_int("missing", 3) == 3);
  CHECK(m.get_floats("a.arr") == std::vector<float>{1.5f, 2.5f});
  REQUIRE_THROWS_WITH(m.get_int("a.str"), Contains("m.gguf: metadata key 'a.str' is string, expected an integer"));
  REQUIRE_THROWS_WITH(m.get_string("nope"), Contains("missing metadata key 'nope'"));
  m.erase("a.int");
  CHECK(!m.has("a.int"));
  CHECK(m.get_string("a.str") == "x");
}

TEST_CASE("npy round trip and errors") {
  auto dir = test::temp_dir();
  std::vector<float> v{1, 2, 3, 4, 5, 6};
  write_npy(dir / "a.npy", v.data(), {2, 3});
  NpyArray a = read_npy(dir / "a.npy");
  CHECK(a.dtype == "f4");
  CHECK(a.shape == std::vector<int64_t>{2, 3});
  CHECK(a.as_floats() == v);
  test::write_text(dir / "b.npy", "not numpy");
  REQUIRE_THROWS_WITH(read_npy(dir / "b.npy"), Contains("b.npy: not a .npy file"));
  std::string whole = test::read_text(dir / "a.npy");
  test::write_text(dir / "c.npy", whole.substr(0, whole.size() - 4));
  REQUIRE_THROWS_WITH(read_npy(dir / "c.npy"), Contains("c.npy: .npy data is 20 bytes, shape needs 24"));
  std::filesystem::remove_all(dir);
}
