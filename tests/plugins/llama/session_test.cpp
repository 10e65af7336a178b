// Sessions: sequences sharing a batch, incremental decoding, bad input, the
// F32 cache option, and the host commands end to end.
#include "llama_fixture.hpp"
#include <functional>

#include "tessel/error.hpp"

using namespace llama_test;
namespace fs = std::filesystem;
using tessel::TokenId;

namespace {
const char* kStories = "models/stories260K.gguf";
const std::vector<TokenId> kOnce = {1, 403, 407, 261, 378};
const std::vector<TokenId> kGirl = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421};
}  // namespace

TEST_CASE("token-by-token decoding equals one batch, and two sequences share a batch") {
  auto& l = load(kStories);
  const size_t V = size_t(l.model->hparams().n_vocab);
  const auto batch = all_logits(l, kGirl);
  l.ctx->clear();
  tessel::Outputs out;
  for (size_t i = 0; i < kGirl.size(); ++i) {
    tessel::Batch b;
    b.add_token(kGirl[i], int32_t(i), 0, true);
    l.model->forward(b, *l.ctx, out);
    REQUIRE(out.logits.size() == V);
    CHECK(tessel::test::max_abs_diff(out.logits.data(), batch.data() + i * V, V) <= 1e-6f);
  }
  REQUIRE(l.ctx->n_past(0) == int32_t(kGirl.size()));

  // Sequence 0 = kGirl, sequence 1 = kOnce, interleaved in one batch.
  const auto once = all_logits(l, kOnce);
  l.ctx->clear();
  tessel::Batch b;
  size_t i0 = 0, i1 = 0;
  std::vector<std::pair<int, size_t>> who;
  while (i0 < kGirl.size() || i1 < kOnce.size()) {
    if (i0 < kGirl.size()) { b.add_token(kGirl[i0], int32_t(i0), 0, true); who.push_back({0, i0++}); }
    if (i1 < kOnce.size()) { b.add_token(kOnce[i1], int32_t(i1), 1, true); who.push_back({1, i1++}); }
  }
  l.model->forward(b, *l.ctx, out);
  REQUIRE(out.rows.size() == who.size());
  for (size_t r = 0; r < who.size(); ++r) {
    const float* want = (who[r].first == 0 ? batch.data() : once.data()) + who[r].second * V;
    CHECK(tessel::test::max_abs_diff(out.logits.data() + r * V, want, V) <= 1e-6f);
  }
  CHECK(l.ctx->n_past(1) == int32_t(kOnce.size()));
}

TEST_CASE("only requested rows are output, hidden states on request") {
  auto& l = load(kStories);
  const size_t V = size_t(l.model->hparams().n_vocab), E = size_t(l.model->hparams().n_embd);
  const auto all = all_logits(l, kGirl);
  l.ctx->clear();
  tessel::Batch b;
  for (size_t i = 0; i < kGirl.size(); ++i) b.add_token(kGirl[i], int32_t(i), 0, i == 3 || i + 1 == kGirl.size());
  tessel::Outputs out;
  out.want_hidden = true;
  l.model->forward(b, *l.ctx, out);
  REQUIRE(out.rows == std::vector<int32_t>{3, int32_t(kGirl.size() - 1)});
  REQUIRE(out.hidden.size() == 2 * E);
  REQUIRE(out.logits.size() == 2 * V);
  // The last FFN runs on the output rows only (as llama.cpp): same values.
  CHECK(tessel::test::max_abs_diff(out.logits.data(), all.data() + 3 * V, V) <= 1e-5f);
  CHECK(tessel::test::max_abs_diff(out.logits.data() + V, all.data() + (kGirl.size() - 1) * V, V) <= 1e-5f);
}

TEST_CASE("bad batches throw and leave the context usable") {
  auto& l = load(kStories);
  l.ctx->clear();
  tessel::Outputs out;
  tessel::Batch bad;
  bad.add_token(1, 0, 0, true);
  bad.add_token(512, 1, 0, true);  // vocab is 512
  REQUIRE_THROWS_WITH(l.model->forward(bad, *l.ctx, out), Catch::Contains("512"));
  REQUIRE(l.ctx->n_past(0) == 0);
  tessel::Batch wrong;
  wrong.embd.assign(10, 0.0f);  // not a multiple of n_embd rows
  wrong.pos = {0};
  wrong.seq = {0};
  wrong.output = {1};
  REQUIRE_THROWS_AS(l.model->forward(wrong, *l.ctx, out), tessel::Error);
  tessel::RuntimeOptions o;
  o.n_ctx = 4;
  o.threads = 1;
  auto small = l.model->new_context(o);
  tessel::Batch big;
  for (int i = 0; i < 5; ++i) big.add_token(1, i, 0, true);
  REQUIRE_THROWS_WITH(l.model->forward(big, *small, out), Catch::Contains("context"));
  REQUIRE_NOTHROW(all_logits(l, kOnce));
}

TEST_CASE("F32 KV cache and one thread stay within the golden bounds") {
  auto& l = load(kStories, /*kv_f16=*/false);
  const auto ref = read_floats(tessel::test::shared_path("golden/stories260K/logits/once.logits.npy"));
  const auto f32 = all_logits(l, kOnce);
  Bounds b;
  b.min_cos = 0.9999;
  compare_logits(ref, f32, 512, b, "F32 cache");
  tessel::RuntimeOptions o;
  o.n_ctx = 64;
  o.threads = 1;
  auto& l16 = load(kStories);
  auto ctx1 = l16.model->new_context(o);
  tessel::Batch bt;
  for (size_t i = 0; i < kOnce.size(); ++i) bt.add_token(kOnce[i], int32_t(i), 0, true);
  tessel::Outputs out;
  l16.model->forward(bt, *ctx1, out);
  REQUIRE(out.logits == all_logits(l16, kOnce));  // thread count doesn't change results
}

TEST_CASE("tessel logits writes every position (ids and prompt)") {
  const auto dir = tessel::test::temp_dir();
  const std::string model = tessel::test::shared_path(kStories).string();
  const auto ref = read_floats(tessel::test::shared_path("golden/stories260K/logits/once.logits.npy"));
  auto r = tessel::test::run_tessel({"logits", "-m", model, "--ids", "1,403,407,261,378", "-o",
                                     (dir / "ids.npy").string(), "-t", "2"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto arr = tessel::read_npy(dir / "ids.npy");
  REQUIRE(arr.shape == std::vector<int64_t>{5, 512});
  compare_logits(ref, arr.as_floats(), 512, Bounds{0.99999, 0.03}, "tessel logits --ids");

  r = tessel::test::run_tessel({"logits", "-m", model, "-p", "Once upon a time", "-o",
                                (dir / "p.npy").string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(tessel::read_npy(dir / "p.npy").as_floats() == arr.as_floats());

  r = tessel::test::run_tessel({"logits", "-m", model, "--ids", "1,x", "-o", (dir / "x.npy").string()});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("'x'") != std::string::npos);
  r = tessel::test::run_tessel({"logits", "-m", (dir / "missing.gguf").string(), "--ids", "1", "-o",
                                (dir / "x.npy").string()});
  CHECK(r.exit_code == 1);
  CHECK(!fs::exists(dir / "x.npy"));
}

TEST_CASE("tessel dump + tessel diff against the golden layer dump") {
  const auto dir = tessel::test::temp_dir();
  const std::string golden = tessel::test::shared_path("golden/stories260K/layers/once_girl").string();
  std::string ids;
  for (TokenId t : kGirl) ids += (ids.empty() ? "" : ",") + std::to_string(t);
  auto r = tessel::test::run_tessel({"dump", "-m", tessel::test::shared_path(kStories).string(),
                                     "--ids", ids, "-o", (dir / "d").string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(fs::exists(dir / "d" / "index.json"));
  REQUIRE(tessel::read_npy(dir / "d" / "kq_soft_max-0.npy").shape == std::vector<int64_t>{8, 13, 256});
  REQUIRE(tessel::read_npy(dir / "d" / "Qcur-0__2.npy").shape == std::vector<int64_t>{13, 8, 8});
  r = tessel::test::run_tessel({"diff", golden, (dir / "d").string(), "--tol", "3e-3"});
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("result_output") != std::string::npos);
  // A tolerance nothing meets stops at the first tensor that differs.
  r = tessel::test::run_tessel({"diff", golden, (dir / "d").string(), "--tol", "1e-9"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("OVER TOLERANCE") != std::string::npos);
  CHECK(r.out.find("result_output") == std::string::npos);
}

namespace {
// stories260K rewritten without some tensors / with changed metadata.
fs::path rewritten(const std::string& name, const std::vector<std::string>& drop,
                   const std::function<void(tessel::Metadata&)>& edit = {}) {
  auto file = tessel::open_model_file(registry(), tessel::test::shared_path(kStories));
  tessel::Metadata meta = file->meta;
  if (edit) edit(meta);
  std::vector<tessel::TensorToWrite> tensors;
  for (const auto& t : file->tensors) {
    if (std::find(drop.begin(), drop.end(), t.name) != drop.end()) continue;
    tensors.push_back({t.name, t.type, t.n_dims, t.ne, t.data});
  }
  const fs::path out = tessel::test::temp_dir() / name;
  tessel::writer_for(registry())->write(out, meta, tensors);
  return out;
}

std::shared_ptr<tessel::Model> load_path(const fs::path& p) {
  auto file = tessel::open_model_file(registry(), p);
  tessel::RuntimeOptions o;
  o.threads = 1;
  return tessel::load_model(registry(), file, tessel::load_codecs(registry()), o);
}
}  // namespace

TEST_CASE("load errors name the missing tensor or bad key, and no output.weight means tied") {
  REQUIRE_THROWS_WITH(load_path(rewritten("no_up.gguf", {"blk.2.ffn_up.weight"})),
                      Catch::Contains("blk.2.ffn_up.weight"));
  REQUIRE_THROWS_WITH(load_path(rewritten("bad_rope.gguf", {}, [](tessel::Metadata& m) {
                        m.set("llama.rope.dimension_count", tessel::MetaValue::of_u32(9));
                      })),
                      Catch::Contains("llama.rope.dimension_count"));
  REQUIRE_THROWS_WITH(load_path(rewritten("no_heads.gguf", {}, [](tessel::Metadata& m) {
                        m.erase("llama.attention.head_count");
                      })),
                      Catch::Contains("llama.attention.head_count"));
  // Tied output: the head falls back to token_embd (logits = hidden · token_embd rows).
  auto tied = load_path(rewritten("tied.gguf", {"output.weight"}));
  auto ctx = tied->new_context(tessel::RuntimeOptions{});
  tessel::Batch b;
  for (size_t i = 0; i < kOnce.size(); ++i) b.add_token(kOnce[i], int32_t(i), 0, i + 1 == kOnce.size());
  tessel::Outputs out;
  out.want_hidden = true;
  tied->forward(b, *ctx, out);
  const int64_t E = tied->hparams().n_embd;
  std::vector<float> row(static_cast<size_t>(E));
  for (TokenId t : {0, 7, 300}) {
    tied->embed_tokens(std::span<const TokenId>(&t, 1), row.data());
    double dot = 0;
    for (int64_t i = 0; i < E; ++i) dot += double(row[size_t(i)]) * out.hidden[size_t(i)];
    CHECK(out.logits[size_t(t)] == Approx(dot).margin(1e-4));
  }
}
