// .npy shapes whose element count overflows 64 bits (or whose bytes do) are
// refused by the reader, and the commands that read rows fail on one line.
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>

#include "support.hpp"
#include "tessel/error.hpp"
#include "tessel/npy.hpp"

namespace fs = std::filesystem;
using Catch::Contains;
using tessel::test::run_tessel;
using tessel::test::shared_path;
using tessel::test::temp_dir;
using tessel::test::write_text;

namespace {

// A v1 .npy with a hand-written header and `data_bytes` bytes of payload.
std::string npy(const std::string& descr, const std::string& shape, size_t data_bytes) {
  std::string h = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  h.append((64 - (10 + h.size() + 1) % 64) % 64, ' ');
  h += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(char(h.size() & 0xff));
  out.push_back(char(h.size() >> 8));
  return out + h + std::string(data_bytes, '\0');
}

}  // namespace

TEST_CASE("npy shapes whose product wraps around 2^64 are refused") {
  fs::path dir = temp_dir();
  // 2^57 x 128 = 2^64 elements: wraps to 0 with unchecked multiplication.
  write_text(dir / "wrap.npy", npy("<f4", "(144115188075855872, 128)", 64));
  CHECK_THROWS_WITH(tessel::read_npy(dir / "wrap.npy"), Contains("wrap.npy") && Contains("more elements"));
  // 2^62 f4 elements: the element count fits, the byte count does not.
  write_text(dir / "bytes.npy", npy("<f4", "(4611686018427387904,)", 64));
  CHECK_THROWS_WITH(tessel::read_npy(dir / "bytes.npy"), Contains("more bytes"));
  // A dimension that is not a number, or does not fit 63 bits.
  write_text(dir / "word.npy", npy("<f4", "(2, x)", 64));
  CHECK_THROWS_WITH(tessel::read_npy(dir / "word.npy"), Contains("'x'"));
  write_text(dir / "huge.npy", npy("<f4", "(99999999999999999999,)", 64));
  CHECK_THROWS_WITH(tessel::read_npy(dir / "huge.npy"), Contains("99999999999999999999"));
  // A sane shape still reads.
  write_text(dir / "ok.npy", npy("<f4", "(2, 3)", 24));
  auto a = tessel::read_npy(dir / "ok.npy");
  CHECK(a.shape == std::vector<int64_t>{2, 3});
  CHECK(a.as_floats().size() == 6);
}

TEST_CASE("NpyArray::size refuses an overflowing shape instead of wrapping") {
  tessel::NpyArray a;
  a.shape = {int64_t(1) << 40, int64_t(1) << 40};
  CHECK_THROWS_AS(a.size(), tessel::Error);
}

TEST_CASE("npy reading refuses FIFOs instead of blocking") {
  fs::path dir = temp_dir();
  REQUIRE(::mkfifo((dir / "rows.npy").c_str(), 0600) == 0);
  CHECK_THROWS_WITH(tessel::read_npy(dir / "rows.npy"), Contains("not a regular file"));
}

TEST_CASE("logits --embd with an overflowing .npy shape fails on one line") {
  fs::path dir = temp_dir();
  write_text(dir / "rows.npy", npy("<f4", "(144115188075855872, 128)", 256));
  auto r = run_tessel({"logits", "-m", shared_path("models/stories260K.gguf").string(), "--embd",
                       (dir / "rows.npy").string(), "-o", (dir / "out.npy").string()});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("rows.npy") && Contains("more elements"));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK_FALSE(fs::exists(dir / "out.npy"));
}

TEST_CASE("image-embed with an overflowing or empty rows .npy writes nothing") {
  fs::path dir = temp_dir();
  const std::string mmproj = shared_path("models/mmproj/mmproj-tinygemma3.gguf").string();
  // 2^57 x 128 wraps to 0 elements; (2^57 + 1) x 128 to 128, which unchecked
  // gave one row of width 0 and a (2^57 + 1, 0) .npy written with exit 0.
  const std::pair<const char*, const char*> cases[] = {
      {"(144115188075855872, 128)", "more elements"},
      {"(144115188075855873, 128)", "more elements"},
      {"(0, 128)", "holds no projected rows"},
  };
  for (const auto& [shape, why] : cases) {
    INFO(shape);
    write_text(dir / "rows.npy", npy("<f4", shape, 512));
    auto r = run_tessel({"image-embed", "--mmproj", mmproj, "--image", (dir / "rows.npy").string(), "-o",
                         (dir / "out.npy").string()});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Contains("rows.npy") && Contains(why));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_FALSE(fs::exists(dir / "out.npy"));
  }
}
