// `tessel convert` output in the reference llama.cpp (commit de3ff81, the build
// that made the golden files): each golden model is turned back into a
// Hugging Face checkpoint, converted with `tessel convert --type F32`, and
// the GGUF is loaded by llama.cpp itself (tools/refdump over libllama: logits
// for the decoders, tokenization and pooled embeddings for bert). llama.cpp's logits on the converted
// file must match its logits on the original GGUF, what tessel computes from
// the checkpoint directly, and the golden logits.
//
// Registered only when the reference build exists at configure time (CI has
// none; see CMakeLists.txt); every test name starts with "llama.cpp
// reference". If the build disappears afterwards the tests fail saying so.
#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>

#include "golden_checkpoint.hpp"
#include "golden_embed.hpp"
#include "tessel/npy.hpp"

using namespace st_test;

namespace {

const fs::path kRefBin = TESSEL_REF_BIN;

void require_reference() {
  if (!fs::exists(kRefBin / "libllama.so") || !fs::exists(TESSEL_REFDUMP))
    FAIL("the reference llama.cpp build is missing (" << kRefBin.string() << "/libllama.so, " << TESSEL_REFDUMP
                                                      << "); reconfigure without it or rebuild the reference");
}

fs::path convert_f32(const fs::path& checkpoint) {
  const fs::path out = tessel::test::temp_dir() / "converted-F32.gguf";
  const auto r = tessel::test::run_tessel({"convert", checkpoint.string(), out.string(), "--type", "F32"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return out;
}

// refdump: every position's logits for `ids`, [n_ids x n_vocab] float32.
std::vector<float> llama_cpp_logits(const fs::path& gguf, const std::vector<tessel::TokenId>& ids) {
  const fs::path out = tessel::test::temp_dir() / "refdump.f32";
  std::vector<std::string> args = {gguf.string(), out.string()};
  for (auto id : ids) args.push_back(std::to_string(id));
  const auto r = tessel::test::run_program(TESSEL_REFDUMP, args, std::nullopt, 300);
  INFO("refdump stderr: " << r.err.substr(r.err.size() > 3000 ? r.err.size() - 3000 : 0));
  REQUIRE(r.exit_code == 0);  // 2: llama.cpp refused to load the converted file
  const std::string bytes = tessel::test::read_text(out);
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

void check_decoder(const Case& c) {
  require_reference();
  const auto [dir, golden] = write_checkpoint(c);
  const fs::path gguf = convert_f32(dir);
  const fs::path logits = tessel::test::shared_path(c.logits_dir);

  tessel::RuntimeOptions o;
  o.n_ctx = 512;
  o.threads = 2;
  auto file = tessel::open_model_file(registry(), dir);
  auto model = tessel::load_model(registry(), file, tessel::load_codecs(registry()), o);
  auto ctx = model->new_context(o);
  const size_t V = size_t(model->hparams().n_vocab);
  const fs::path original = tessel::test::shared_path(c.gguf);
  // An F32 original converts to the same bytes; one with quantized tensors
  // (llama3-synth's Q8_0 embedding) converts to their F32 values, which
  // llama.cpp multiplies without quantizing the activations.
  bool all_f32 = true;
  for (const auto& t : golden->tensors) all_f32 = all_f32 && t.type == tessel::TypeId::F32;
  for (const Prompt& p : golden_prompts(logits)) {
    const auto ref = llama_cpp_logits(gguf, p.ids);
    REQUIRE(ref.size() == p.ids.size() * V);
    const auto ref_original = llama_cpp_logits(original, p.ids);
    REQUIRE(ref_original.size() == ref.size());
    const auto ours = decode_prompt(*model, *ctx, p.ids, true);
    REQUIRE(ours.size() == ref.size());
    // The golden logits came from another machine (AVX-512; see the golden
    // README), so they bound llama.cpp here only as the F32 tolerance does.
    const bool all = fs::exists(logits / (p.name + ".logits.npy"));
    const auto gold = tessel::read_npy(logits / (p.name + (all ? ".logits.npy" : ".last_logits.npy"))).as_floats();
    const size_t first = all ? 0 : p.ids.size() - 1;
    for (size_t r = 0; r < p.ids.size(); ++r) {
      INFO(c.gguf << " prompt " << p.name << " row " << r);
      const float* conv = ref.data() + r * V;
      // llama.cpp on the conversion vs llama.cpp on the original GGUF, same
      // build: the same weights (Gemma's norms went through 1 + (w - 1), a
      // rounding at most), so the same logits to float rounding.
      if (all_f32) CHECK(tessel::test::max_abs_diff(conv, ref_original.data() + r * V, V) <= 1e-4f);
      else CHECK(tessel::test::cosine(conv, ref_original.data() + r * V, V) >= 0.999);  // the quantized bound
      if (r >= first) CHECK(tessel::test::cosine(conv, gold.data() + (r - first) * V, V) >= (all_f32 ? 0.99999 : 0.999));
      // tessel on the checkpoint vs llama.cpp on its conversion: the F32 bound.
      CHECK(tessel::test::cosine(conv, ours.data() + r * V, V) >= 0.9999);
    }
  }
}

// refdump --embed: llama.cpp tokenizes `text` with the converted vocabulary
// (its ids returned) and pools the embedding (L2-normalized here, as
// llama-embedding's default --embd-normalize 2).
std::pair<std::vector<tessel::TokenId>, std::vector<float>> llama_cpp_embedding(const fs::path& gguf,
                                                                                 const std::string& text,
                                                                                 const std::string& pooling) {
  const fs::path out = tessel::test::temp_dir() / "embd.f32";
  std::vector<std::string> args = {"--embed", gguf.string(), out.string(), text};
  if (pooling != "auto") args.push_back(pooling);
  const auto r = tessel::test::run_program(TESSEL_REFDUMP, args, std::nullopt, 300);
  INFO("refdump stderr: " << r.err.substr(r.err.size() > 3000 ? r.err.size() - 3000 : 0));
  REQUIRE(r.exit_code == 0);
  std::vector<tessel::TokenId> ids;
  std::istringstream in(r.out);
  for (tessel::TokenId id; in >> id;) ids.push_back(id);
  const std::string bytes = tessel::test::read_text(out);
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  double norm = 0;
  for (float x : v) norm += double(x) * x;
  for (float& x : v) x = float(x / std::sqrt(norm));
  return {ids, v};
}

}  // namespace

TEST_CASE("llama.cpp reference: a converted llama checkpoint (no tokenizer.json) loads and gives the golden logits") {
  check_decoder({"golden/models/llama-synth.gguf", "LlamaForCausalLM", "decoder", true, false,
                 "golden/llama-synth/logits/llama-synth"});
}

TEST_CASE("llama.cpp reference: a converted Llama 3 checkpoint (byte-level tokenizer.json, rope_freqs) loads and "
          "gives the golden logits") {
  check_decoder({"golden/arch2/models/llama3-synth.gguf", "LlamaForCausalLM", "decoder", true, false,
                 "golden/arch2/logits/llama3-synth"});
}

TEST_CASE("llama.cpp reference: converted qwen2 and qwen3 checkpoints load and give the golden logits") {
  check_decoder({"golden/arch2/models/qwen2-synth.gguf", "Qwen2ForCausalLM", "decoder", false, false,
                 "golden/arch2/logits/qwen2-synth"});
  check_decoder({"golden/arch2/models/qwen3-synth.gguf", "Qwen3ForCausalLM", "decoder", false, false,
                 "golden/arch2/logits/qwen3-synth"});
}

TEST_CASE("llama.cpp reference: a converted gemma3 checkpoint loads and gives the golden logits") {
  check_decoder({"golden/models/gemma3-synth-128.gguf", "Gemma3ForCausalLM", "gemma3", false, true,
                 "golden/gemma3-synth/logits/gemma3-synth-128"});
}

TEST_CASE("llama.cpp reference: a converted bert checkpoint (WordPiece tokenizer.json) tokenizes and embeds as the "
          "golden files") {
  require_reference();
  const auto [dir, golden] = write_checkpoint({"golden/models/bert-synth.gguf", "BertModel", "bert", false, false, ""});
  const fs::path gguf = convert_f32(dir);
  int checked = 0;
  for (const auto& c : tessel::test::golden_cases("bert-synth")) {
    if (c.fa || c.pooling == "none" || c.normalize != 2) continue;  // one vector, euclidean norm
    INFO(c.file << ": " << c.prompt);
    const auto [ids, got] = llama_cpp_embedding(gguf, c.prompt, c.pooling);
    CHECK(ids == c.ids);  // llama-tokenize's ids on the original vocabulary
    tessel::test::check_rows(got.data(), tessel::test::golden_values(c), 1, int64_t(got.size()), 0.99999, 2);
    ++checked;
  }
  CHECK(checked > 0);
}
