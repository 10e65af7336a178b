// The model kit's load-time checks through a real architecture (llama on
// stories260K, edited in memory): hparams out of range or non-finite, and
// tensors the architecture would ignore, each fail with one line naming the
// key or tensor.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "support.hpp"
#include "tessel/error.hpp"
#include "tessel/model_kit.hpp"
#include "tessel/pipeline.hpp"

using namespace tessel;

namespace {

Registry& registry() {
  static auto reg = make_registry();
  return *reg;
}

std::shared_ptr<ModelFile> stories() {
  return open_model_file(registry(), test::shared_path("models/stories260K.gguf"));
}

// Loads `f` and returns the error message ("" when it loads).
std::string load_error(const std::shared_ptr<ModelFile>& f) {
  static auto codecs = load_codecs(registry());
  RuntimeOptions o;
  o.threads = 1;
  try {
    load_model(registry(), f, codecs, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

MetaValue of_i64(int64_t v) {
  MetaValue m;
  m.type = MetaType::I64;
  m.i = v;
  m.u = uint64_t(v);
  return m;
}

}  // namespace

TEST_CASE("kit: the unmodified file loads") { CHECK(load_error(stories()) == ""); }

TEST_CASE("kit: integer hparams out of range name the key") {
  const char* keys[] = {"llama.block_count", "llama.embedding_length", "llama.attention.head_count",
                        "llama.attention.head_count_kv", "llama.feed_forward_length",
                        "llama.context_length", "llama.rope.dimension_count"};
  const int64_t bad[] = {0, -1, int64_t(1) << 31, std::numeric_limits<int64_t>::max()};
  for (const char* key : keys)
    for (int64_t v : bad) {
      auto f = stories();
      f->meta.set(key, of_i64(v));
      const std::string e = load_error(f);
      INFO(key << " = " << v << ": " << e);
      CHECK(e.find(key) != std::string::npos);
      CHECK(e.find('\n') == std::string::npos);
    }
  auto f = stories();
  MetaValue huge = MetaValue::of_u64(uint64_t(1) << 63);
  f->meta.set("llama.block_count", huge);
  CHECK_THAT(load_error(f), Catch::Contains("llama.block_count") && Catch::Contains("out of range"));
}

TEST_CASE("kit: non-finite, zero or negative epsilon and rope base are refused") {
  for (const char* key : {"llama.attention.layer_norm_rms_epsilon", "llama.rope.freq_base"})
    for (float v : {std::numeric_limits<float>::quiet_NaN(), 0.0f, -1.0f,
                    std::numeric_limits<float>::infinity()}) {
      auto f = stories();
      f->meta.set(key, MetaValue::of_f32(v));
      const std::string e = load_error(f);
      INFO(key << " = " << v << ": " << e);
      CHECK(e.find(key) != std::string::npos);
    }
}

TEST_CASE("kit: head counts that don't divide are refused with the key") {
  auto f = stories();
  f->meta.set("llama.attention.head_count_kv", of_i64(5));  // stories260K: 8 heads
  CHECK_THAT(load_error(f), Catch::Contains("head_count_kv"));
}

TEST_CASE("kit: a block_count below the file's layers is 'wrong number of tensors'") {
  auto f = stories();
  const int64_t n = f->meta.get_int("llama.block_count");
  REQUIRE(n >= 2);
  f->meta.set("llama.block_count", of_i64(n - 1));
  const std::string e = load_error(f);
  CHECK_THAT(e, Catch::Contains("wrong number of tensors") &&
                    Catch::Contains("blk." + std::to_string(n - 1) + "."));
}

TEST_CASE("kit: a block_count above the file's layers names the missing tensor") {
  auto f = stories();
  f->meta.set("llama.block_count", of_i64(f->meta.get_int("llama.block_count") + 1));
  CHECK_THAT(load_error(f), Catch::Contains("blk.") && Catch::Contains("attn_norm"));
}

TEST_CASE("kit: an unknown extra tensor is refused") {
  auto f = stories();
  TensorInfo extra = f->tensors.front();
  extra.name = "blk.0.mystery.weight";
  f->tensors.push_back(extra);
  f->build_index();
  CHECK_THAT(load_error(f), Catch::Contains("blk.0.mystery.weight"));
}

// A name read from a file can hold a NUL or a newline: the message shows
// them as \xNN, whole and on one line (a NUL would have cut it short).
TEST_CASE("kit: an unknown tensor whose name holds control bytes is named escaped, on one line") {
  auto f = stories();
  TensorInfo extra = f->tensors.front();
  static constexpr char kName[] = "blk.0.odd\0name\n\x01.weight";
  extra.name = std::string(kName, sizeof kName - 1);
  f->tensors.push_back(extra);
  f->build_index();
  const std::string err = load_error(f);
  CHECK_THAT(err, Catch::Contains("blk.0.odd\\x00name\\x0a\\x01.weight"));
  CHECK(err.find('\n') == std::string::npos);
  CHECK(err.find('\0') == std::string::npos);
}

TEST_CASE("kit: unsupported rope scaling is refused") {
  auto f = stories();
  f->meta.set("llama.rope.scaling.type", MetaValue::of_string("yarn"));
  CHECK_THAT(load_error(f), Catch::Contains("llama.rope.scaling.type") && Catch::Contains("yarn"));
}

TEST_CASE("kit: tessel dump writes an encoder's intermediates (bert, gemma-embedding)") {
  for (const char* m : {"golden/models/bert-synth.gguf", "golden/models/gemma-embedding-synth.gguf"}) {
    INFO(m);
    const auto dir = test::temp_dir() / "dump";
    const auto r = test::run_tessel({"dump", "-m", test::shared_path(m).string(), "--ids", "2,10,11,12",
                                     "-o", dir.string(), "-t", "1"});
    REQUIRE(r.exit_code == 0);
    const std::string index = test::read_text(dir / "index.json");
    CHECK(index.find("\"kqv_out-0\"") != std::string::npos);
    CHECK(index.find("\"attn_out-0\"") != std::string::npos);
    CHECK(std::filesystem::exists(dir / "attn_out-0.npy"));
    // tessel diff reads encoder dumps: the same pass on 2 threads agrees op by op.
    const auto dir2 = test::temp_dir() / "dump2";
    REQUIRE(test::run_tessel({"dump", "-m", test::shared_path(m).string(), "--ids", "2,10,11,12", "-o",
                              dir2.string(), "-t", "2"})
                .exit_code == 0);
    const auto d = test::run_tessel({"diff", dir.string(), dir2.string(), "--tol", "1e-4"});
    INFO(d.out << d.err);
    CHECK(d.exit_code == 0);
    CHECK(d.out.find("attn_out-0") != std::string::npos);
  }
}
