// The tokens and embeddings input adapters, prompt splitting, and the
// llama_batch.embd path against the golden embd-input files.
#include <cmath>

#include "embeddings.hpp"
#include "mm_support.hpp"
#include "tessel/error.hpp"
#include "tessel/half.hpp"

using namespace mm_test;
using tessel::test::temp_dir;

namespace {

std::vector<tessel::BatchChunk> adapt(const std::string& name, const tessel::InputSegment& seg,
                                      const tessel::AdapterContext& ctx) {
  return registry().create<tessel::InputAdapter>("input", name)->adapt(seg, ctx);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const tessel::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("tokens adapter: BOS only for the first segment, specials parsed, ids checked") {
  Loaded& l = load("models/stories260K.gguf");
  auto ctx = adapter_context(l);
  tessel::InputSegment seg;
  seg.adapter = "tokens";
  seg.text = "Once upon a time";
  auto first = adapt("tokens", seg, ctx);
  REQUIRE(first.size() == 1);
  CHECK(first[0].tokens.front() == 1);
  CHECK(first[0].tokens == l.tok->encode(seg.text, {true, true}));
  ctx.first_segment = false;
  auto later = adapt("tokens", seg, ctx);
  CHECK(later[0].tokens == l.tok->encode(seg.text, {false, true}));

  tessel::InputSegment ids;
  ids.ids = {1, 400, 600};
  const std::string msg = error_of([&] { adapt("tokens", ids, ctx); });
  CHECK_THAT(msg, Catch::Contains("600") && Catch::Contains("n_vocab 512"));
  ids.ids = {1, 400};
  CHECK(adapt("tokens", ids, ctx)[0].tokens == ids.ids);
}

TEST_CASE("embeddings adapter: npy f32/f16, raw f32, embedding JSON, errors") {
  Loaded& l = load("models/stories260K.gguf");
  auto ctx = adapter_context(l);
  const auto dir = temp_dir();
  std::vector<float> rows(3 * 64);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = float(i % 17) * 0.25f - 2.0f;  // exact in f16
  tessel::write_npy(dir / "r.npy", rows.data(), {3, 64});
  tessel::NpyArray h;
  h.dtype = "f2";
  h.shape = {3, 64};
  for (float v : rows) {
    const uint16_t b = tessel::fp32_to_fp16(v);
    h.bytes.push_back(uint8_t(b & 0xff));
    h.bytes.push_back(uint8_t(b >> 8));
  }
  tessel::write_npy(dir / "h.npy", h);
  tessel::test::write_text(dir / "r.f32", std::string(reinterpret_cast<const char*>(rows.data()),
                                                      rows.size() * 4));
  nlohmann::json j;
  for (int r = 0; r < 3; ++r)
    j["data"].push_back({{"object", "embedding"}, {"index", r},
                         {"embedding", std::vector<float>(rows.begin() + r * 64,
                                                          rows.begin() + (r + 1) * 64)}});
  tessel::test::write_text(dir / "r.json", j.dump());

  tessel::InputSegment seg;
  seg.adapter = "embeddings";
  for (const char* f : {"r.npy", "h.npy", "r.f32", "r.json"}) {
    INFO(f);
    seg.file = dir / f;
    seg.params.clear();
    if (std::string(f) == "r.f32") seg.params["shape"] = "3,64";
    auto chunks = adapt("embeddings", seg, ctx);
    REQUIRE(chunks.size() == 1);
    CHECK(chunks[0].n_rows == 3);
    CHECK(chunks[0].causal);
    CHECK(chunks[0].embd == rows);
  }
  seg.file = dir / "r.f32";
  seg.params.clear();
  CHECK_THAT(error_of([&] { adapt("embeddings", seg, ctx); }), Catch::Contains("shape"));

  std::vector<float> narrow(2 * 63, 0.5f);
  tessel::write_npy(dir / "narrow.npy", narrow.data(), {2, 63});
  seg.file = dir / "narrow.npy";
  CHECK_THAT(error_of([&] { adapt("embeddings", seg, ctx); }),
             Catch::Contains("63") && Catch::Contains("n_embd is 64") &&
                 Catch::Contains("narrow.npy"));

  rows[64 + 5] = NAN;
  tessel::write_npy(dir / "nan.npy", rows.data(), {3, 64});
  seg.file = dir / "nan.npy";
  CHECK_THAT(error_of([&] { adapt("embeddings", seg, ctx); }),
             Catch::Contains("row 1") && Catch::Contains("non-finite"));
}

TEST_CASE("split_media_prompt: text/image segments around <__media__>") {
  auto segs = tessel::split_media_prompt("Here is a picture: <__media__> What?", {"a.png"}, "p.gguf");
  REQUIRE(segs.size() == 3);
  CHECK(segs[0].adapter == "tokens");
  CHECK(segs[0].text == "Here is a picture: ");
  CHECK(segs[1].adapter == "image");
  CHECK(segs[1].file == "a.png");
  CHECK(segs[1].params.at("mmproj") == "p.gguf");
  CHECK(segs[2].text == " What?");
  auto appended = tessel::split_media_prompt("Describe", {"a.png"}, "p.gguf");
  REQUIRE(appended.size() == 2);
  CHECK(appended[1].adapter == "image");
  CHECK_THROWS_WITH(tessel::split_media_prompt("<__media__> and <__media__>", {"a.png"}, "p"),
                    Catch::Contains("2 <__media__> marker(s)") && Catch::Contains("1 image"));
  CHECK_THROWS_WITH(tessel::split_media_prompt("x <__media__>", {"a.png"}),
                    Catch::Contains("--mmproj"));
}

namespace {

// Feeds `rows_file` (token_embd rows of the prompt) through the embeddings
// adapter, optionally scaled, and returns every position's logits.
std::vector<float> embd_logits(Loaded& l, const std::filesystem::path& rows_file,
                               const std::string& scale = {}) {
  tessel::InputSegment seg;
  seg.adapter = "embeddings";
  seg.file = rows_file;
  if (!scale.empty()) seg.params["scale"] = scale;
  auto chunks = tessel::assemble_prompt(registry(), {seg}, adapter_context(l));
  l.ctx->clear();
  tessel::PromptDecodeOptions o;
  o.all_logits = true;
  return tessel::decode_prompt(*l.model, *l.ctx, chunks, o).logits;
}

std::vector<float> token_logits(Loaded& l, const std::vector<tessel::TokenId>& ids) {
  tessel::BatchChunk c;
  c.tokens = ids;
  l.ctx->clear();
  tessel::PromptDecodeOptions o;
  o.all_logits = true;
  return tessel::decode_prompt(*l.model, *l.ctx, {c}, o).logits;
}

void check_embd_input(const std::string& model_rel, const std::string& golden_dir, bool gemma) {
  Loaded& l = load(model_rel);
  const size_t n_vocab = size_t(l.model->hparams().n_vocab);
  const auto dir = tessel::test::shared_path("golden/" + golden_dir);
  int n_cases = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.size() < 12 || name.substr(name.size() - 12) != ".tokens.json") continue;
    const std::string p = name.substr(0, name.size() - 12);
    INFO(golden_dir << " " << p);
    ++n_cases;
    const auto meta = read_json(e.path());
    const auto ids = meta["token_ids"].get<std::vector<tessel::TokenId>>();
    const auto rows_file = dir / (p + ".embd_input.npy");
    // The golden rows are the token_embd lookup, unscaled.
    std::vector<float> rows(ids.size() * size_t(l.model->hparams().n_embd));
    l.model->embed_tokens(ids, rows.data());
    CHECK(rows == tessel::read_npy(rows_file).as_floats());

    const auto tok = token_logits(l, ids);
    const auto raw = embd_logits(l, rows_file);
    const auto ref_tok = tessel::read_npy(dir / (p + ".tok_logits.npy")).as_floats();
    const auto ref_raw = tessel::read_npy(dir / (p + ".embd_logits.npy")).as_floats();
    check_rows(tok, ref_tok, n_vocab, 0.9999);
    check_rows(raw, ref_raw, n_vocab, 0.9999);
    check_top1(raw, ref_raw, n_vocab);
    if (!gemma) {
      // llama: both paths are the same computation.
      CHECK(tessel::test::max_abs_diff(tok.data(), raw.data(), tok.size()) <= 1e-5f);
    } else {
      // gemma3: raw rows skip the sqrt(n_embd) input scaling; scaled rows match tokens.
      CHECK(tessel::test::max_abs_diff(tok.data(), raw.data(), tok.size()) > 1e-2f);
      const auto scaled = embd_logits(l, rows_file, "sqrt_n_embd");
      CHECK(tessel::test::max_abs_diff(tok.data(), scaled.data(), tok.size()) <= 1e-5f);
      const auto ref_scaled = tessel::read_npy(dir / (p + ".embd_scaled_logits.npy")).as_floats();
      check_rows(scaled, ref_scaled, n_vocab, 0.9999);
    }
  }
  CHECK(n_cases >= 2);
}

}  // namespace

TEST_CASE("embd-input: stories260K rows via batch.embd equal the token path") {
  check_embd_input("models/stories260K.gguf", "stories260K/embd-input", false);
}

TEST_CASE("embd-input: llama-synth rows via batch.embd equal the token path") {
  check_embd_input("golden/models/llama-synth.gguf", "llama-synth/embd-input/llama-synth", false);
}

TEST_CASE("embd-input: gemma3-synth raw rows are unscaled, rows x sqrt(n_embd) match tokens") {
  check_embd_input("golden/models/gemma3-synth-128.gguf",
                   "gemma3-synth/embd-input/gemma3-synth-128", true);
}
