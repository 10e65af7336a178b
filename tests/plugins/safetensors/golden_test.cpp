// Golden GGUFs turned back into Hugging Face checkpoints (HF names, HF
// layouts: rotate-half q/k for llama, un-shifted Gemma norms, config.json
// from the GGUF keys), then opened through the safetensors plugin: every
// tensor must come back with the GGUF's bytes, every `<arch>.*` key with the
// GGUF's value, and the logits must match llama.cpp's golden logits.
// The inverse mapping here is written independently of the plugin's tables.
#include <catch2/catch.hpp>
#include <cmath>

#include "golden_checkpoint.hpp"
#include "golden_embed.hpp"
#include "tessel/npy.hpp"

using namespace st_test;

namespace {

void check_same_model(const tessel::ModelFile& got, const tessel::ModelFile& want) {
  REQUIRE(got.meta.get_string("general.architecture") == want.meta.get_string("general.architecture"));
  const std::string a = want.meta.get_string("general.architecture") + ".";
  for (const auto& [key, v] : want.meta.entries()) {
    if (key.rfind(a, 0) != 0) continue;
    INFO("key " << key);
    REQUIRE(got.meta.has(key));
    if (v.type == tessel::MetaType::F32) CHECK(float(got.meta.get_float(key)) == float(v.f));
    else if (v.type == tessel::MetaType::BOOL) CHECK(got.meta.get_bool(key, !v.u) == bool(v.u));
    else CHECK(got.meta.get_int(key) == v.i);
  }
  CHECK(got.tensors.size() == want.tensors.size());
  for (const auto& w : want.tensors) {
    INFO("tensor " << w.name);
    const tessel::TensorInfo* t = got.find(w.name);
    REQUIRE(t != nullptr);
    CHECK(t->ne == w.ne);
    CHECK(t->n_dims == w.n_dims);
    const auto a_f = floats_of(*t), b_f = floats_of(w);
    REQUIRE(a_f.size() == b_f.size());
    // Bit-identical, except Gemma norms, which went through (1 + w) - 1 + 1.
    CHECK(tessel::test::max_abs_diff(a_f.data(), b_f.data(), a_f.size()) <= (w.name.find("norm") != std::string::npos ? 2e-7f : 0.0f));
  }
}

// The checkpoint's tokenizer.json, imported, must carry the GGUF's vocabulary
// and tokenize each golden prompt to llama.cpp's ids.
void check_tokenizer(const std::shared_ptr<tessel::ModelFile>& file, const tessel::ModelFile& golden, const fs::path& dir) {
  for (const char* key : {"tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type",
                          "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"}) {
    INFO(key);
    REQUIRE(file->meta.has(key));
    const auto& a = file->meta.get(key);
    const auto& b = golden.meta.get(key);
    if (a.type == tessel::MetaType::ARRAY && a.elem_type == tessel::MetaType::STRING) CHECK(a.strings == b.strings);
    else if (a.type == tessel::MetaType::ARRAY) CHECK(file->meta.get_ints(key) == golden.meta.get_ints(key));
    else CHECK(a.to_string() == b.to_string());
  }
  auto tok = tessel::make_tokenizer(registry(), file);
  int checked = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().string().find(".tokens.json") == std::string::npos) continue;
    std::ifstream in(e.path());
    const auto j = json::parse(in);
    tessel::EncodeOptions o;
    o.add_special = true;
    o.parse_special = true;
    INFO(j["prompt"].get<std::string>());
    CHECK(tok->encode(j["prompt"].get<std::string>(), o) == j["token_ids"].get<std::vector<tessel::TokenId>>());
    ++checked;
  }
  CHECK(checked > 0);
}

void check_logits(const std::shared_ptr<tessel::ModelFile>& file, const fs::path& dir) {
  tessel::RuntimeOptions o;
  o.n_ctx = 512;
  o.threads = 2;
  auto model = tessel::load_model(registry(), file, tessel::load_codecs(registry()), o);
  auto ctx = model->new_context(o);
  const size_t V = size_t(model->hparams().n_vocab);
  for (const Prompt& p : golden_prompts(dir)) {
    const bool all = fs::exists(dir / (p.name + ".logits.npy"));
    const auto ref = tessel::read_npy(dir / (p.name + (all ? ".logits.npy" : ".last_logits.npy"))).as_floats();
    const auto got = decode_prompt(*model, *ctx, p.ids, all);
    REQUIRE(got.size() == ref.size());
    for (size_t r = 0; r < ref.size() / V; ++r) {
      INFO(p.name << " row " << r);
      CHECK(tessel::test::cosine(ref.data() + r * V, got.data() + r * V, V) >= 0.9999);
    }
  }
}

// The checkpoint's WordPiece tokenizer.json, imported, must give the bge
// vocabulary as llama.cpp's converter writes it today (bracketed tokens that
// are not special get the word-start mark; older files, like the golden one,
// kept their text), tokenize llama.cpp's bert-bge suite to its ids and each
// golden embedding prompt to llama-embedding's ids, and embed them to the
// golden vectors.
void check_wordpiece(const std::shared_ptr<tessel::ModelFile>& file, const tessel::ModelFile& golden, const fs::path& dir) {
  const std::string mark = "\xe2\x96\x81";
  std::vector<std::string> want = golden.meta.get_strings("tokenizer.ggml.tokens");
  const auto types = golden.meta.get_ints("tokenizer.ggml.token_type");
  for (size_t i = 0; i < want.size(); ++i)
    if (types[i] != 3 && want[i].size() > 2 && want[i].front() == '[' && want[i].back() == ']') want[i] = mark + want[i];
  CHECK(file->meta.get_string("tokenizer.ggml.model") == "bert");
  CHECK(file->meta.get_strings("tokenizer.ggml.tokens") == want);
  CHECK(file->meta.get_ints("tokenizer.ggml.token_type") == types);
  for (const char* key : {"tokenizer.ggml.unknown_token_id", "tokenizer.ggml.seperator_token_id",
                          "tokenizer.ggml.padding_token_id", "tokenizer.ggml.cls_token_id", "tokenizer.ggml.mask_token_id"}) {
    INFO(key);
    CHECK(file->meta.get_int(key) == golden.meta.get_int(key));
  }
  // gguf-py's SpecialVocab: a config with cls/sep but no bos/eos makes them BOS/EOS.
  CHECK(file->meta.get_int("tokenizer.ggml.bos_token_id") == golden.meta.get_int("tokenizer.ggml.cls_token_id"));
  CHECK(file->meta.get_int("tokenizer.ggml.eos_token_id") == golden.meta.get_int("tokenizer.ggml.seperator_token_id"));

  const std::string vocab = "models/vocab/ggml-vocab-bert-bge.gguf";
  const auto r = tessel::test::run_tessel({"tokenize", "-m", dir.string(), "--suite",
                                           tessel::test::shared_path(vocab + ".inp").string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == tessel::test::read_text(tessel::test::shared_path(vocab + ".out")));

  auto tok = tessel::make_tokenizer(registry(), file);
  tessel::RuntimeOptions o;
  o.threads = 2;
  auto model = tessel::load_model(registry(), file, tessel::load_codecs(registry()), o);
  int checked = 0;
  for (const auto& c : tessel::test::golden_cases("bert-synth")) {
    if (c.fa) continue;
    INFO(c.file << ": " << c.prompt);
    tessel::EncodeOptions eo;
    eo.add_special = true;
    eo.parse_special = true;
    const auto ids = tok->encode(c.prompt, eo);
    CHECK(ids == c.ids);
    const auto got = tessel::test::embed_ids(*model, {ids}, c.pooling, c.normalize);
    REQUIRE(got.size() == 1);
    const auto ref = tessel::test::golden_values(c);
    const int64_t cols = model->hparams().n_embd;
    tessel::test::check_rows(got[0].data.data(), ref, int64_t(ref.size()) / cols, cols, 0.99999, c.normalize);
    ++checked;
  }
  CHECK(checked > 0);
}

void run_case(const Case& c) {
  auto [dir, golden] = write_checkpoint(c);
  auto file = tessel::open_model_file(registry(), dir);  // format auto-detected
  CHECK(file->format == "safetensors");
  check_same_model(*file, *golden);
  if (!c.logits_dir.empty()) check_logits(file, tessel::test::shared_path(c.logits_dir));
  if (golden->meta.get_string("tokenizer.ggml.model", "") == "gpt2")
    check_tokenizer(file, *golden, tessel::test::shared_path(c.logits_dir));
  if (golden->meta.get_string("tokenizer.ggml.model", "") == "bert") check_wordpiece(file, *golden, dir);
}

}  // namespace

TEST_CASE("llama checkpoint (rotate-half q/k) gives llama-synth's tensors and golden logits") {
  run_case({"golden/models/llama-synth.gguf", "LlamaForCausalLM", "decoder", true, false,
            "golden/llama-synth/logits/llama-synth"});
}

TEST_CASE("Llama 3 checkpoint: rope_freqs from rope_scaling, tied output, byte-level tokenizer.json, golden logits") {
  run_case({"golden/arch2/models/llama3-synth.gguf", "LlamaForCausalLM", "decoder", true, false,
            "golden/arch2/logits/llama3-synth"});
}

TEST_CASE("gemma3 checkpoint (norms stored as w) gives gemma3-synth's tensors and golden logits") {
  run_case({"golden/models/gemma3-synth-128.gguf", "Gemma3ForCausalLM", "gemma3", false, true,
            "golden/gemma3-synth/logits/gemma3-synth-128"});
}

TEST_CASE("qwen2 checkpoint (q/k/v biases) gives qwen2-synth's tensors, keys and golden logits") {
  run_case({"golden/arch2/models/qwen2-synth.gguf", "Qwen2ForCausalLM", "decoder", false, false,
            "golden/arch2/logits/qwen2-synth"});
}

TEST_CASE("qwen3 checkpoint (q/k norms, explicit head_dim) gives qwen3-synth's tensors, keys and golden logits") {
  run_case({"golden/arch2/models/qwen3-synth.gguf", "Qwen3ForCausalLM", "decoder", false, false,
            "golden/arch2/logits/qwen3-synth"});
}

TEST_CASE("bert checkpoint (F16 embeddings, biases, WordPiece tokenizer.json) gives bert-synth's tensors, keys, "
          "bert-bge's tokens and the golden embeddings") {
  run_case({"golden/models/bert-synth.gguf", "BertModel", "bert", false, false, ""});
}
