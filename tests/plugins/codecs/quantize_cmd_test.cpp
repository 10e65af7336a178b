// `tessel quantize` end to end, and the per-tensor type policy on shapes the
// golden files don't cover.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "gguf.hpp"
#include "support.hpp"
#include "tessel/quantize.hpp"

using namespace tessel;

TEST_CASE("tessel quantize reproduces every golden llama-quantize file") {
  const auto src = test::shared_path("golden/models/llama-synth.gguf");
  const auto info = nlohmann::json::parse(test::read_text(test::shared_path("golden/quant_info.json")));
  const auto dir = test::temp_dir();
  for (const char* preset : {"F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_M",
                             "Q4_K_M", "Q5_K_M", "Q6_K"}) {
    INFO(preset);
    const std::string golden_name = std::string("llama-synth-") + preset + ".gguf";
    const auto out = dir / golden_name;
    const auto r = test::run_tessel({"quantize", src.string(), out.string(), preset, "--threads", "2"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto got = gguf::read_file(out);
    const auto gold = gguf::read_file(test::shared_path("golden/models/" + golden_name));
    const auto& expect = info["files"][golden_name];
    CHECK(got->meta.get_int("general.file_type") == expect["general.file_type"].get<int64_t>());
    CHECK(got->meta.get_int("general.quantization_version") == 2);
    REQUIRE(got->tensors.size() == gold->tensors.size());
    for (size_t i = 0; i < gold->tensors.size(); ++i) {
      const TensorInfo& g = gold->tensors[i];
      const TensorInfo& t = got->tensors[i];
      INFO(g.name);
      CHECK(t.name == g.name);  // same order as llama-quantize
      CHECK(type_name(t.type) == expect["tensor_types"][g.name].get<std::string>());
      REQUIRE(t.data.size() == g.data.size());
      CHECK(std::memcmp(t.data.data(), g.data.data(), g.data.size()) == 0);
    }
    // Metadata order and encoding too: the whole file is identical.
    CHECK(test::read_text(out) == test::read_text(test::shared_path("golden/models/" + golden_name)));
  }
}

TEST_CASE("tessel quantize reproduces the bert and gemma-embedding Q8_0 files") {
  // bert: F16 token_embd as input, position_embd/token_types kept; gemma: tied
  // embeddings and the dense_2/dense_3 heads.
  const auto dir = test::temp_dir();
  for (const char* model : {"bert-synth", "gemma-embedding-synth"}) {
    INFO(model);
    const auto out = dir / (std::string(model) + "-Q8_0.gguf");
    const auto r = test::run_tessel({"quantize", test::shared_path(std::string("golden/models/") + model + ".gguf").string(),
                                     out.string(), "q8_0"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(test::read_text(out) ==
          test::read_text(test::shared_path(std::string("golden/models/") + model + "-Q8_0.gguf")));
  }
}

TEST_CASE("tessel quantize refuses to requantize unless asked") {
  const auto dir = test::temp_dir();
  const auto src = test::shared_path("golden/models/llama-synth-Q4_0.gguf").string();
  auto r = test::run_tessel({"quantize", src, (dir / "a.gguf").string(), "Q8_0"});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("--allow-requantize") != std::string::npos);
  CHECK(!std::filesystem::exists(dir / "a.gguf"));
  r = test::run_tessel({"quantize", src, (dir / "b.gguf").string(), "Q8_0", "--allow-requantize"});
  REQUIRE(r.exit_code == 0);
  const auto got = gguf::read_file(dir / "b.gguf");
  for (const auto& t : got->tensors) CHECK((t.type == TypeId::Q8_0 || t.type == TypeId::F32));
}

TEST_CASE("tessel quantize rejects an unknown type in one line naming the valid ones") {
  const auto dir = test::temp_dir();
  const auto r = test::run_tessel({"quantize", test::shared_path("golden/models/llama-synth.gguf").string(),
                                   (dir / "x.gguf").string(), "Q4_K_X"});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("Q4_K_X") != std::string::npos);
  CHECK(r.err.find("Q4_K_M") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(!std::filesystem::exists(dir / "x.gguf"));
}

namespace {
TensorInfo tensor(const std::string& name, int64_t ne0, int64_t ne1) {
  TensorInfo t;
  t.name = name;
  t.n_dims = ne1 > 1 ? 2 : 1;
  t.ne = {ne0, ne1, 1, 1};
  return t;
}
std::vector<quantize::Choice> choose(const char* preset, const std::vector<TensorInfo>& ts,
                                     quantize::ModelInfo info = {"llama", 1, 8, 8, 0},
                                     const quantize::Overrides& over = {}) {
  std::vector<const TensorInfo*> ptrs;
  for (size_t i : quantize::tensor_order(ts)) ptrs.push_back(&ts[i]);
  return quantize::choose_types(*quantize::find_preset(preset), info, ptrs, over);
}
}  // namespace

TEST_CASE("type policy: tied embeddings, fallbacks and kept tensors") {
  // No output.weight: token_embd doubles as the output and gets its type.
  auto c = choose("Q4_K_M", {tensor("token_embd.weight", 256, 100), tensor("blk.0.attn_norm.weight", 256, 1)});
  CHECK(c[0].type == TypeId::Q6_K);   // token_embd (order: outside blocks first)
  CHECK(c[1].type == TypeId::F32);    // norms stay F32
  CHECK(!c[1].quantize);
  // Rows not a multiple of 256 step down: Q4_K -> Q5_0, and to F16 when 32 doesn't divide either.
  c = choose("Q4_K_M", {tensor("blk.0.attn_q.weight", 96, 64), tensor("blk.0.attn_k.weight", 40, 64)});
  CHECK(c[0].type == TypeId::F16);    // attn_k (sorted by name)
  CHECK(c[1].type == TypeId::Q5_0);   // attn_q
  CHECK(!c[0].warning.empty());
  // Output row not a multiple of the default type's block: Q8_0.
  c = choose("Q4_K_M", {tensor("output.weight", 96, 10)});
  CHECK(c[0].type == TypeId::Q8_0);
  // Legacy types have no fallback: an error naming the tensor.
  CHECK_THROWS_WITH(choose("Q4_0", {tensor("blk.0.ffn_up.weight", 40, 8)}),
                    Catch::Contains("blk.0.ffn_up.weight"));
  // GQA >= 4 lifts Q2_K's attn_v to Q4_K, otherwise Q3_K.
  c = choose("Q2_K", {tensor("blk.0.attn_v.weight", 256, 64)}, {"llama", 1, 8, 2, 0});
  CHECK(c[0].type == TypeId::Q4_K);
  c = choose("Q2_K", {tensor("blk.0.attn_v.weight", 256, 64)}, {"llama", 1, 8, 4, 0});
  CHECK(c[0].type == TypeId::Q3_K);
  CHECK(quantize::find_preset("q4_k_m") == quantize::find_preset("Q4_K_M"));
  CHECK(quantize::find_preset("Q4_K_X") == nullptr);
}

TEST_CASE("type policy: --pure and the output/token-embedding overrides") {
  const std::vector<TensorInfo> ts = {tensor("token_embd.weight", 256, 100), tensor("output.weight", 256, 100),
                                      tensor("blk.0.attn_v.weight", 256, 64), tensor("blk.0.ffn_down.weight", 256, 64)};
  // Order: output, token_embd, blk.0.attn_v, blk.0.ffn_down.
  auto c = choose("Q4_K_M", ts);
  CHECK(c[0].type == TypeId::Q6_K);
  CHECK(c[1].type == TypeId::Q4_K);
  CHECK(c[2].type == TypeId::Q6_K);  // use_more_bits for the only layer
  CHECK(c[3].type == TypeId::Q6_K);
  quantize::Overrides pure;
  pure.pure = true;
  c = choose("Q4_K_M", ts, {"llama", 1, 8, 8, 0}, pure);
  for (const auto& ch : c) CHECK(ch.type == TypeId::Q4_K);
  quantize::Overrides over;
  over.output_type = TypeId::Q8_0;
  over.token_embd_type = TypeId::F16;
  c = choose("Q4_K_M", ts, {"llama", 1, 8, 8, 0}, over);
  CHECK(c[0].type == TypeId::Q8_0);
  CHECK(c[1].type == TypeId::F16);
  // Tied embeddings take the output type.
  over.token_embd_type.reset();
  c = choose("Q4_K_M", {tensor("token_embd.weight", 256, 100)}, {"llama", 1, 8, 8, 0}, over);
  CHECK(c[0].type == TypeId::Q8_0);
}
