// to_float against ggml's own dequantize_row_* output (golden/dequant/):
// every golden tensor of every model, compared bit for bit.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "ggml_codecs.hpp"
#include "support.hpp"
#include "tessel/npy.hpp"

using namespace tessel;

namespace {

std::vector<char> read_range(const std::filesystem::path& p, uint64_t offset, size_t n) {
  std::ifstream f(p, std::ios::binary);
  REQUIRE(f);
  f.seekg(std::streamoff(offset));
  std::vector<char> buf(n);
  f.read(buf.data(), std::streamsize(n));
  REQUIRE(size_t(f.gcount()) == n);
  return buf;
}

}  // namespace

TEST_CASE("to_float is bit-exact with ggml for every golden tensor") {
  const auto index = nlohmann::json::parse(test::read_text(test::shared_path("golden/dequant/index.json")));
  std::set<std::string> models;
  for (const auto& c : index["cases"]) models.insert(c["model"].get<std::string>());
  REQUIRE(models.size() >= 12);
  size_t checked = 0;
  std::set<std::string> types_seen;
  for (const auto& model : models) {
    const std::string stem = std::filesystem::path(model).stem().string();
    const auto tj = nlohmann::json::parse(
        test::read_text(test::shared_path("golden/dequant/" + stem + "/tensors.json")));
    const auto model_path = test::shared_path("golden/" + model);
    for (const auto& t : tj["tensors"]) {
      const std::string name = t["tensor"];
      INFO(stem << " " << name << " " << t["ggml_type"].get<std::string>());
      const auto type = type_from_name(t["ggml_type"].get<std::string>());
      REQUIRE(type);
      const Codec* codec = ggml::find_codec(*type);
      REQUIRE(codec);
      const int64_t ne0 = t["ne"][0];
      const int64_t r0 = t["golden_rows"][0], r1 = t["golden_rows"][1];
      const size_t rb = row_bytes(*type, ne0);
      // file_offset is absolute in the file (checked: the bytes decode to the golden rows).
      const auto raw = read_range(model_path, t["file_offset"].get<uint64_t>() + uint64_t(r0) * rb,
                                  size_t(r1 - r0) * rb);
      const auto golden = read_npy(test::shared_path("golden/" + t["golden"].get<std::string>()));
      REQUIRE(golden.dtype == "f4");
      REQUIRE(golden.size() == (r1 - r0) * ne0);
      std::vector<float> out(size_t(golden.size()));
      codec->to_float(raw.data(), out.data(), out.size());
      size_t mismatches = 0, first = 0;
      for (size_t i = 0; i < out.size(); ++i)
        if (std::memcmp(&out[i], golden.bytes.data() + 4 * i, 4) != 0 && mismatches++ == 0) first = i;
      INFO("first mismatch at element " << first);
      CHECK(mismatches == 0);
      ++checked;
      types_seen.insert(t["ggml_type"].get<std::string>());
    }
  }
  CHECK(checked >= 36);
  // F32 tensors are not in the golden set; every quantized type llama-synth uses is.
  for (const char* ty : {"F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    CHECK(types_seen.count(ty) == 1);
}
