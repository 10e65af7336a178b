// Every hyperparameter of a valid model of every architecture, set to 0, -1,
// 2^31, 2^63-1 and NaN (NaN as a float even in an integer key: a wrong type),
// one at a time. A value the key can't take must fail at load with
// tessel::Error naming the key on one line (`tessel` prints it and exits 1);
// a value it can take must load and run one forward pass to finite outputs.
// Nothing may crash, hang, throw another exception type (exit 70) or run
// with NaN. In-process for the whole table (fast), and through the CLI for
// one bad value of every key (the one-line message and exit 1 end to end).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "gguf.hpp"
#include "support.hpp"
#include "tessel/error.hpp"
#include "tessel/pipeline.hpp"
#include "tessel/vision.hpp"

namespace fs = std::filesystem;
using tessel::MetaValue;
using tessel::test::run_tessel;
using tessel::test::shared_path;

namespace {

enum class Val { zero, minus_one, two_31, max_i63, nan };
constexpr Val kValues[] = {Val::zero, Val::minus_one, Val::two_31, Val::max_i63, Val::nan};

const char* val_name(Val v) {
  switch (v) {
    case Val::zero: return "0";
    case Val::minus_one: return "-1";
    case Val::two_31: return "2^31";
    case Val::max_i63: return "2^63-1";
    case Val::nan: return "NaN";
  }
  return "?";
}

// What a key may hold, hence which of the five values must be refused.
enum class Rule {
  count,          // an integer >= 1 with an upper bound: every value is refused
  count_or_zero,  // ... or 0 meaning "off" (sliding window, its pattern)
  pooling,        // llama_pooling_type: 0 none, -1 none (unspecified); others refused
  positive,       // a finite float > 0 (epsilons, rope bases, scales): 2^31, 2^63-1 load
  scale,          // a finite float in (0, 16]: it multiplies activations (attention factors)
  non_negative,   // a finite float >= 0, 0 = off (softcaps)
  image_mean,     // 3 finite floats
  image_std,      // 3 finite nonzero floats
  ignored,        // tessel takes this from tensor shapes (as llama.cpp does): anything loads
};

bool must_fail(Rule r, Val v) {
  switch (r) {
    case Rule::count: return true;
    case Rule::count_or_zero: return v != Val::zero;
    case Rule::pooling: return v != Val::zero && v != Val::minus_one;
    case Rule::positive: return v == Val::zero || v == Val::minus_one || v == Val::nan;
    case Rule::scale: return true;
    case Rule::non_negative: return v == Val::minus_one || v == Val::nan;
    case Rule::image_mean: return v == Val::nan;
    case Rule::image_std: return v == Val::zero || v == Val::nan;
    case Rule::ignored: return false;
  }
  return true;
}

bool is_float_rule(Rule r) {
  return r == Rule::positive || r == Rule::scale || r == Rule::non_negative || r == Rule::image_mean || r == Rule::image_std;
}

MetaValue encode(Rule r, Val v) {
  const double d = v == Val::zero ? 0.0 : v == Val::minus_one ? -1.0 : v == Val::two_31 ? 2147483648.0
                 : v == Val::max_i63 ? 9223372036854775807.0 : std::numeric_limits<double>::quiet_NaN();
  if (r == Rule::image_mean || r == Rule::image_std) return MetaValue::of_f32s({float(d), float(d), float(d)});
  if (is_float_rule(r) || v == Val::nan) return MetaValue::of_f32(float(d));
  switch (v) {
    case Val::zero: return MetaValue::of_u32(0);
    case Val::minus_one: return MetaValue::of_i32(-1);
    case Val::two_31: return MetaValue::of_u32(uint32_t(1) << 31);
    default: return MetaValue::of_u64(uint64_t(std::numeric_limits<int64_t>::max()));
  }
}

struct Key {
  std::string name;  // without the "<arch>." prefix
  Rule rule;
};

enum class Cli { generate, embed, image_embed };

struct ArchCase {
  std::string arch, model;  // model: relative to TESSEL_SHARED
  Cli cli;
  std::vector<Key> keys;
};

// The shape every transformer reads (kit::read_transformer, read_rope), set
// whether or not the file has the key.
std::vector<Key> decoder_keys(std::vector<Key> more = {}) {
  std::vector<Key> k = {
      {"context_length", Rule::count},           {"embedding_length", Rule::count},
      {"block_count", Rule::count},              {"feed_forward_length", Rule::count},
      {"attention.head_count", Rule::count},     {"attention.head_count_kv", Rule::count},
      {"attention.key_length", Rule::count},     {"attention.value_length", Rule::count},
      {"rope.dimension_count", Rule::count},     {"rope.freq_base", Rule::positive},
      {"attention.layer_norm_rms_epsilon", Rule::positive},
  };
  k.insert(k.end(), more.begin(), more.end());
  return k;
}

std::vector<Key> gemma_keys(std::vector<Key> more) {
  more.push_back({"attention.sliding_window", Rule::count_or_zero});
  more.push_back({"attention.sliding_window_pattern", Rule::count_or_zero});
  more.push_back({"rope.freq_base_swa", Rule::positive});
  more.push_back({"final_logit_softcapping", Rule::non_negative});
  return decoder_keys(more);
}

const std::vector<ArchCase>& cases() {
  static const std::vector<ArchCase> all = {
      {"llama", "models/stories260K.gguf", Cli::generate, decoder_keys()},
      {"qwen2", "golden/arch2/models/qwen2-synth-Q8_0.gguf", Cli::generate, decoder_keys()},
      {"qwen3", "golden/arch2/models/qwen3-synth-Q8_0.gguf", Cli::generate, decoder_keys()},
      {"phi3", "golden/arch2/models/phi3-synth-Q8_0.gguf", Cli::generate,
       decoder_keys({{"rope.scaling.attn_factor", Rule::scale},
                     {"rope.scaling.original_context_length", Rule::count},
                     // llama.cpp disables Phi-3's sliding window ("Phi SWA is currently disabled").
                     {"attention.sliding_window", Rule::ignored}})},
      {"gemma2", "golden/arch2/models/gemma2-synth-Q8_0.gguf", Cli::generate,
       gemma_keys({{"attn_logit_softcapping", Rule::non_negative}})},
      {"gemma3", "golden/models/gemma3-synth-128.gguf", Cli::generate, gemma_keys({})},
      {"gemma-embedding", "golden/models/gemma-embedding-synth-Q8_0.gguf", Cli::embed,
       gemma_keys({{"pooling_type", Rule::pooling},
                   {"dense_2_feat_in", Rule::ignored}, {"dense_2_feat_out", Rule::ignored},
                   {"dense_3_feat_in", Rule::ignored}, {"dense_3_feat_out", Rule::ignored}})},
      {"bert", "golden/models/bert-synth-Q8_0.gguf", Cli::embed,
       {{"context_length", Rule::count}, {"embedding_length", Rule::count},
        {"block_count", Rule::count}, {"feed_forward_length", Rule::count},
        {"attention.head_count", Rule::count}, {"attention.head_count_kv", Rule::count},
        {"attention.key_length", Rule::count}, {"attention.value_length", Rule::count},
        {"attention.layer_norm_epsilon", Rule::positive}, {"pooling_type", Rule::pooling}}},
      {"clip", "models/mmproj/mmproj-tinygemma3.gguf", Cli::image_embed,
       {{"vision.image_size", Rule::count}, {"vision.patch_size", Rule::count},
        {"vision.embedding_length", Rule::count}, {"vision.feed_forward_length", Rule::count},
        {"vision.block_count", Rule::count}, {"vision.attention.head_count", Rule::count},
        {"vision.projector.scale_factor", Rule::count},
        {"vision.attention.layer_norm_epsilon", Rule::positive},
        {"vision.image_mean", Rule::image_mean}, {"vision.image_std", Rule::image_std},
        // The projector's output width comes from its tensors (llama.cpp: clip_n_mmproj_embd).
        {"vision.projection_dim", Rule::ignored}}},
  };
  return all;
}

struct Loaded {
  std::shared_ptr<tessel::Registry> reg;
  std::shared_ptr<tessel::CodecSet> codecs;
};

Loaded& plugins() {
  static Loaded l = [] {
    Loaded x;
    x.reg = tessel::make_registry();
    x.codecs = tessel::load_codecs(*x.reg);
    return x;
  }();
  return l;
}

bool all_finite(const std::vector<float>& v) {
  for (float x : v)
    if (!std::isfinite(x)) return false;
  return !v.empty();
}

// Loads `file` and runs one small forward pass (two tokens, or the vision
// encoder on a grey image). Returns "" when it ran to finite outputs, else
// what went wrong; tessel::Error propagates.
std::string load_and_run(const std::shared_ptr<tessel::ModelFile>& file) {
  tessel::RuntimeOptions opts;
  opts.threads = 1;
  opts.n_ctx = 16;
  opts.n_batch = 16;
  auto model = tessel::load_model(*plugins().reg, file, plugins().codecs, opts);
  if (auto vm = std::dynamic_pointer_cast<tessel::VisionModel>(model)) {
    const int64_t side = vm->vision().image_size;
    std::vector<float> px(size_t(3 * side * side), 0.25f);
    return all_finite(vm->encode(px, side, side)) ? "" : "the vision encoder's rows are not finite";
  }
  const tessel::HParams& hp = model->hparams();
  auto ctx = model->new_context(opts);
  tessel::Batch b;
  b.add_token(1, 0, 0, true);
  b.add_token(tessel::TokenId(hp.n_vocab - 1), 1, 0, true);
  tessel::Outputs out;
  out.want_logits = hp.has_logits;
  out.want_hidden = !hp.has_logits;
  model->forward(b, *ctx, out);
  return all_finite(hp.has_logits ? out.logits : out.hidden) ? "" : "the outputs are not finite";
}

void check_in_process(const ArchCase& c) {
  const fs::path path = shared_path(c.model);
  auto original = tessel::open_model_file(*plugins().reg, path);
  REQUIRE(original->meta.get_string("general.architecture") == c.arch);
  REQUIRE(load_and_run(original).empty());  // the unmodified model is valid
  for (const Key& k : c.keys) {
    const std::string key = c.arch + "." + k.name;
    for (Val v : kValues) {
      INFO(key << " = " << val_name(v));
      auto file = std::make_shared<tessel::ModelFile>(*original);  // tensors stay views of the mapping
      file->meta.set(key, encode(k.rule, v));
      std::string outcome;
      bool failed = false;
      try {
        outcome = load_and_run(file);
      } catch (const tessel::Error& e) {
        failed = true;
        outcome = e.what();
      } catch (const std::exception& e) {
        FAIL("not a tessel::Error (exit 70): " << e.what());
      }
      INFO("outcome: " << (outcome.empty() ? "loaded and ran" : outcome));
      if (must_fail(k.rule, v)) {
        CHECK(failed);
      } else {
        CHECK(outcome.empty());  // a legal value runs to finite outputs
      }
      if (failed) {
        CHECK_THAT(outcome, Catch::Contains(key));
        CHECK(outcome.find('\n') == std::string::npos);
      }
    }
  }
}

// The grey 32x32 picture the clip case embeds (binary PPM).
fs::path grey_image(const fs::path& dir) {
  const fs::path p = dir / "grey.ppm";
  tessel::test::write_text(p, "P6\n32 32\n255\n" + std::string(32 * 32 * 3, char(128)));
  return p;
}

// Through `tessel`: one value the key must refuse (cycling through the five
// so every value is seen end to end), exit 1 and one line naming the key.
void check_cli(const ArchCase& c) {
  const fs::path dir = tessel::test::temp_dir();
  auto original = tessel::gguf::read_file(shared_path(c.model));
  const auto tensors = tessel::gguf::tensors_to_write(*original);
  size_t turn = 0;
  for (const Key& k : c.keys) {
    std::vector<Val> bad;
    for (Val v : kValues)
      if (must_fail(k.rule, v)) bad.push_back(v);
    if (bad.empty()) continue;
    const Val v = bad[turn++ % bad.size()];
    const std::string key = c.arch + "." + k.name;
    tessel::Metadata meta = original->meta;
    meta.set(key, encode(k.rule, v));
    const fs::path model = dir / "bad.gguf";
    tessel::gguf::write_file(model, meta, tensors);
    std::vector<std::string> args;
    switch (c.cli) {
      case Cli::generate: args = {"generate", "-m", model.string(), "-p", "Hello", "-n", "1", "-t", "1"}; break;
      case Cli::embed: args = {"embed", "-m", model.string(), "-p", "Hello", "-t", "1"}; break;
      case Cli::image_embed:
        args = {"image-embed", "--mmproj", model.string(), "--image", grey_image(dir).string(),
                "-o", (dir / "rows.npy").string(), "-t", "1"};
        break;
    }
    const auto r = run_tessel(args, 60);
    INFO(key << " = " << val_name(v) << "; stderr: " << r.err);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains(key));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.out.empty());
  }
}

void check_arch(const std::string& arch) {
  for (const ArchCase& c : cases()) {
    if (c.arch != arch) continue;
    SECTION("in process, every key and value") { check_in_process(c); }
    SECTION("through the CLI, one refused value per key") { check_cli(c); }
    return;
  }
  FAIL("no case for " << arch);
}

}  // namespace

TEST_CASE("hparam table: llama") { check_arch("llama"); }
TEST_CASE("hparam table: qwen2") { check_arch("qwen2"); }
TEST_CASE("hparam table: qwen3") { check_arch("qwen3"); }
TEST_CASE("hparam table: phi3") { check_arch("phi3"); }
TEST_CASE("hparam table: gemma2") { check_arch("gemma2"); }
TEST_CASE("hparam table: gemma3") { check_arch("gemma3"); }
TEST_CASE("hparam table: gemma-embedding") { check_arch("gemma-embedding"); }
TEST_CASE("hparam table: bert") { check_arch("bert"); }
TEST_CASE("hparam table: clip") { check_arch("clip"); }

TEST_CASE("hparam strings: an unsupported rope.scaling.type (yarn) is refused naming the key") {
  auto original = tessel::open_model_file(*plugins().reg, shared_path("models/stories260K.gguf"));
  for (const char* type : {"yarn", "longrope"}) {
    auto file = std::make_shared<tessel::ModelFile>(*original);
    file->meta.set("llama.rope.scaling.type", MetaValue::of_string(type));
    INFO("rope.scaling.type '" << type << "'");
    CHECK_THROWS_WITH(load_and_run(file), Catch::Contains("llama.rope.scaling.type") && Catch::Contains("not supported"));
  }
  auto file = std::make_shared<tessel::ModelFile>(*original);
  file->meta.set("llama.rope.scaling.type", MetaValue::of_string("linear"));
  file->meta.set("llama.rope.scaling.factor", MetaValue::of_f32(0.0f));
  CHECK_THROWS_WITH(load_and_run(file), Catch::Contains("llama.rope.scaling.factor"));
}
