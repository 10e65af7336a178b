// from_float against llama-quantize: quantizing llama-synth.gguf's F32
// tensors to the type each tensor has in a golden llama-synth-<TYPE>.gguf
// must give exactly that file's tensor bytes.
#include <catch2/catch.hpp>

#include <cstring>
#include <set>

#include "ggml_codecs.hpp"
#include "gguf.hpp"
#include "support.hpp"

using namespace tessel;

TEST_CASE("from_float reproduces llama-quantize's tensor bytes") {
  const auto src = gguf::read_file(test::shared_path("golden/models/llama-synth.gguf"));
  const char* presets[] = {"F16",  "BF16", "Q8_0",   "Q4_0",   "Q4_1",   "Q5_0",
                           "Q5_1", "Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K"};
  std::set<TypeId> types_checked;
  for (const char* preset : presets) {
    const auto gold = gguf::read_file(test::shared_path(std::string("golden/models/llama-synth-") + preset + ".gguf"));
    REQUIRE(gold->tensors.size() == src->tensors.size());
    for (const auto& g : gold->tensors) {
      INFO(preset << " " << g.name << " as " << type_name(g.type));
      const TensorInfo& s = src->get(g.name);
      REQUIRE(s.type == TypeId::F32);
      REQUIRE(s.n_elements() == g.n_elements());
      const Codec* c = ggml::find_codec(g.type);
      REQUIRE(c);
      std::vector<float> x(size_t(s.n_elements()));
      std::memcpy(x.data(), s.data.data(), x.size() * 4);
      std::vector<std::byte> out(g.data.size());
      c->from_float(x.data(), out.data(), x.size());
      // Count differing blocks so a failure says how far off we are.
      size_t bad = 0, first = 0;
      const size_t bb = c->block_bytes();
      for (size_t b = 0; b < out.size() / bb; ++b)
        if (std::memcmp(out.data() + b * bb, g.data.data() + b * bb, bb) != 0 && bad++ == 0) first = b;
      INFO(bad << " of " << out.size() / bb << " blocks differ, first " << first);
      CHECK(bad == 0);
      types_checked.insert(g.type);
    }
  }
  // F32, F16, BF16, the five legacy quants and the five k-quants.
  CHECK(types_checked.size() == 13);
}
