// The gemma3 architecture against llama.cpp's logits for gemma3-synth-128
// (sliding-window layers, q/k norms, post norms, GeGLU, sqrt(n_embd) scaling).
#include "mm_support.hpp"
#include <functional>
#include <map>

#include "tessel/error.hpp"

using namespace mm_test;

TEST_CASE("gemma3-synth-128 logits match llama.cpp at every position") {
  Loaded& l = load("golden/models/gemma3-synth-128.gguf");
  const auto& hp = l.model->hparams();
  CHECK(hp.arch == "gemma3");
  CHECK(hp.n_embd == 128);
  CHECK(hp.head_dim == 64);
  const size_t n_vocab = size_t(hp.n_vocab);
  for (const char* p : {"fox", "hello", "once"}) {
    INFO(p);
    const std::string dir = "gemma3-synth/logits/gemma3-synth-128/";
    const auto meta = read_json(tessel::test::shared_path("golden/" + dir + p + ".tokens.json"));
    const auto ids = meta["token_ids"].get<std::vector<tessel::TokenId>>();
    // The tokenizer gives the same ids as llama.cpp's.
    CHECK(l.tok->encode(meta["prompt"].get<std::string>(), {true, true}) == ids);
    l.ctx->clear();
    tessel::Batch b;
    for (size_t i = 0; i < ids.size(); ++i) b.add_token(ids[i], int32_t(i), 0, true);
    tessel::Outputs out;
    l.model->forward(b, *l.ctx, out);
    const auto ref = floats(dir + p + ".logits.npy");
    const double worst = check_rows(out.logits, ref, n_vocab, 0.99999);
    CHECK(tessel::test::max_abs_diff(out.logits.data(), ref.data(), ref.size()) <= 0.03f);
    check_top1(out.logits, ref, n_vocab);
    WARN(p << ": worst cosine " << worst);
  }
}

TEST_CASE("gemma3: decoding in small batches equals one batch; last-row output") {
  Loaded& l = load("golden/models/gemma3-synth-128.gguf");
  const auto meta = read_json(
      tessel::test::shared_path("golden/gemma3-synth/logits/gemma3-synth-128/fox.tokens.json"));
  const auto ids = meta["token_ids"].get<std::vector<tessel::TokenId>>();
  tessel::BatchChunk c;
  c.tokens = ids;
  tessel::PromptDecodeOptions o;
  o.all_logits = true;
  const auto one = tessel::decode_prompt(*l.model, *l.ctx, {c}, o);
  l.ctx->clear();
  o.n_batch = 3;  // crosses the sliding window (8) several times
  const auto small = tessel::decode_prompt(*l.model, *l.ctx, {c}, o);
  REQUIRE(one.logits.size() == small.logits.size());
  CHECK(tessel::test::max_abs_diff(one.logits.data(), small.logits.data(), one.logits.size()) <=
        1e-4f);
  l.ctx->clear();
  const auto last = tessel::decode_prompt(*l.model, *l.ctx, {c}, {});
  const size_t n_vocab = size_t(l.model->hparams().n_vocab);
  REQUIRE(last.logits.size() == n_vocab);
  CHECK(last.positions == std::vector<int32_t>{int32_t(ids.size() - 1)});
  CHECK(tessel::test::max_abs_diff(last.logits.data(), one.logits.data() + one.logits.size() - n_vocab,
                                   n_vocab) <= 1e-4f);
}

TEST_CASE("gemma3: a bad token id names the id") {
  Loaded& l = load("golden/models/gemma3-synth-128.gguf");
  tessel::Batch b;
  b.add_token(9999, 0, 0, true);
  tessel::Outputs out;
  CHECK_THROWS_WITH(l.model->forward(b, *l.ctx, out), Catch::Contains("9999"));
  CHECK(l.ctx->n_past(0) == 0);
}

namespace {

const char* kGemma = "golden/models/gemma3-synth-128.gguf";

// gemma3-synth-128 edited in memory, loaded with its own context.
struct Edited {
  std::shared_ptr<tessel::Model> model;
  std::unique_ptr<tessel::Context> ctx;
};
Edited load_edited(const std::function<void(tessel::ModelFile&)>& edit, bool flash = false) {
  auto f = tessel::open_model_file(registry(), tessel::test::shared_path(kGemma));
  edit(*f);
  static auto codecs = tessel::load_codecs(registry());
  tessel::RuntimeOptions o;
  o.n_ctx = 512;
  o.threads = 2;
  o.flash_attn = flash;
  Edited e;
  e.model = tessel::load_model(registry(), f, codecs, o);
  e.ctx = e.model->new_context(o);
  return e;
}

std::vector<tessel::TokenId> fox_ids() {
  const auto meta = read_json(
      tessel::test::shared_path("golden/gemma3-synth/logits/gemma3-synth-128/fox.tokens.json"));
  return meta["token_ids"].get<std::vector<tessel::TokenId>>();
}

tessel::Outputs run_all(Edited& e, const std::vector<tessel::TokenId>& ids, tessel::TensorSink* sink = nullptr) {
  tessel::Batch b;
  for (size_t i = 0; i < ids.size(); ++i) b.add_token(ids[i], int32_t(i), 0, true);
  tessel::Outputs out;
  out.sink = sink;
  e.model->forward(b, *e.ctx, out);
  return out;
}


}  // namespace

TEST_CASE("gemma3: the flash-attention option reaches the attention kernel") {
  auto ids = fox_ids();
  auto plain = load_edited([](tessel::ModelFile&) {});
  auto flash = load_edited([](tessel::ModelFile&) {}, true);
  const auto a = run_all(plain, ids).logits, b = run_all(flash, ids).logits;
  REQUIRE(a.size() == b.size());
  CHECK(a != b);  // F16 V·P accumulation differs in the last bits
  const auto ref = floats("gemma3-synth/logits/gemma3-synth-128/fox.logits.npy");
  check_rows(b, ref, size_t(flash.model->hparams().n_vocab), 0.9999);
}

TEST_CASE("gemma3: final_logit_softcapping caps logits with and without a sliding window") {
  auto ids = fox_ids();
  for (const int64_t window : {int64_t(-1), int64_t(0)}) {  // -1: the file's window (8); 0: none
    INFO("sliding_window " << window);
    auto set_window = [window](tessel::ModelFile& f) {
      REQUIRE(f.meta.get_int("gemma3.attention.sliding_window") > 0);
      if (window >= 0) f.meta.set("gemma3.attention.sliding_window", tessel::MetaValue::of_u32(uint32_t(window)));
    };
    auto plain = load_edited(set_window);
    auto capped = load_edited([&](tessel::ModelFile& f) {
      set_window(f);
      f.meta.set("gemma3.final_logit_softcapping", tessel::MetaValue::of_f32(2.0f));
    });
    const auto z = run_all(plain, ids).logits, c = run_all(capped, ids).logits;
    REQUIRE(z.size() == c.size());
    for (size_t i = 0; i < z.size(); ++i) REQUIRE(c[i] == Approx(std::tanh(z[i] / 2.0f) * 2.0f).margin(1e-5));
  }
}

TEST_CASE("gemma3: attention scale is 1/sqrt(head_dim), but 1/sqrt(n_embd/n_head) for 62 layers (27B)") {
  // K·Q of layer 0 over Q (after RoPE, before scaling) and K: the ratio is the scale.
  auto measured = [](int64_t n_layer) {
    auto e = load_edited([&](tessel::ModelFile& f) {
      // Layers 1.. are copies of layer 0 (views of the same bytes).
      std::vector<tessel::TensorInfo> keep;
      for (const auto& t : f.tensors)
        if (t.name.rfind("blk.", 0) != 0 || t.name.rfind("blk.0.", 0) == 0) keep.push_back(t);
      const size_t n0 = keep.size();
      for (int64_t il = 1; il < n_layer; ++il)
        for (size_t i = 0; i < n0; ++i)
          if (keep[i].name.rfind("blk.0.", 0) == 0) {
            tessel::TensorInfo c = keep[i];
            c.name = "blk." + std::to_string(il) + "." + c.name.substr(6);
            keep.push_back(c);
          }
      f.tensors = keep;
      f.build_index();
      f.meta.set("gemma3.block_count", tessel::MetaValue::of_u32(uint32_t(n_layer)));
    });
    Collect sink;
    run_all(e, {2, 100}, &sink);
    const auto& q = sink.t.at("Qcur-0");  // [tok][head][64]
    const auto& k = sink.t.at("Kcur-0");  // [tok][1][64]
    const auto& kq = sink.t.at("kq-0");   // [head][tok][n_kv]
    const size_t n_kv = kq.size() / (4 * 2);
    double best = 0, ratio = 0;  // the largest |Q·K| of (head, token, cell): F16 rounding matters least
    for (size_t h = 0; h < 4; ++h)
      for (size_t t = 0; t < 2; ++t)
        for (size_t j = 0; j <= t; ++j) {
          double dot = 0;
          for (size_t d = 0; d < 64; ++d) dot += double(q[(t * 4 + h) * 64 + d]) * k[j * 64 + d];
          if (std::fabs(dot) > best) best = std::fabs(dot), ratio = kq[(h * 2 + t) * n_kv + j] / dot;
        }
    return ratio;
  };
  CHECK(measured(2) == Approx(1.0 / std::sqrt(64.0)).epsilon(0.01));
  CHECK(measured(62) == Approx(1.0 / std::sqrt(128.0 / 4.0)).epsilon(0.01));
}
