// `tessel convert` and quantize on load, from a checkpoint made of
// llama-synth's weights: the converted GGUF must hold the tensors llama.cpp's
// own files hold (llama-synth.gguf for F32, llama-quantize's -F16, -Q8_0 and
// -Q4_K_M for the rest: same names, types, shapes and bytes), and a model
// quantized at load must equal the quantized file.
#include <catch2/catch.hpp>

#include "golden_checkpoint.hpp"

using namespace st_test;

namespace {

const Case kLlama{"golden/models/llama-synth.gguf", "LlamaForCausalLM", "decoder", true, false, ""};

fs::path checkpoint() {
  static const fs::path dir = write_checkpoint(kLlama).first;
  return dir;
}

void check_same_tensors(const tessel::ModelFile& got, const tessel::ModelFile& want) {
  CHECK(got.tensors.size() == want.tensors.size());
  for (const auto& w : want.tensors) {
    INFO("tensor " << w.name);
    const tessel::TensorInfo* t = got.find(w.name);
    REQUIRE(t != nullptr);
    CHECK(tessel::type_name(t->type) == tessel::type_name(w.type));
    CHECK(t->ne == w.ne);
    REQUIRE(t->data.size() == w.data.size());
    CHECK(std::memcmp(t->data.data(), w.data.data(), w.data.size()) == 0);
  }
  for (const auto& [key, v] : want.meta.entries()) {
    if (key.rfind("llama.", 0) != 0) continue;
    INFO("key " << key);
    REQUIRE(got.meta.has(key));
    CHECK(got.meta.get(key).to_string() == v.to_string());
  }
}

std::shared_ptr<tessel::ModelFile> convert(const std::string& type, uint32_t want_file_type) {
  const fs::path out = tessel::test::temp_dir() / ("llama-" + type + ".gguf");
  const auto r = tessel::test::run_tessel({"convert", checkpoint().string(), out.string(), "--type", type});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto f = tessel::open_model_file(registry(), out);
  CHECK(f->format == "gguf");
  CHECK(f->meta.get_int("general.file_type") == want_file_type);
  return f;
}

}  // namespace

TEST_CASE("convert --type F32 writes llama-synth.gguf's tensors and keys") {
  check_same_tensors(*convert("F32", 0), *tessel::open_model_file(registry(), tessel::test::shared_path(kLlama.gguf)));
}

TEST_CASE("convert --type F16 and Q8_0 match llama-quantize's files byte for byte (norms stay F32)") {
  check_same_tensors(*convert("F16", 1),
                     *tessel::open_model_file(registry(), tessel::test::shared_path("golden/models/llama-synth-F16.gguf")));
  check_same_tensors(*convert("Q8_0", 7),
                     *tessel::open_model_file(registry(), tessel::test::shared_path("golden/models/llama-synth-Q8_0.gguf")));
}

TEST_CASE("convert with a quantize preset equals llama-quantize of the F32 model") {
  check_same_tensors(*convert("Q4_K_M", 15),
                     *tessel::open_model_file(registry(), tessel::test::shared_path("golden/models/llama-synth-Q4_K_M.gguf")));
}

TEST_CASE("convert --type auto picks F16 for an F32 checkpoint, as the converter guesses") {
  auto f = convert("auto", 1);
  CHECK(f->get("blk.0.attn_q.weight").type == tessel::TypeId::F16);
  CHECK(f->get("blk.0.attn_norm.weight").type == tessel::TypeId::F32);
}

TEST_CASE("convert refuses an unknown type and a folder that is no checkpoint, in one line") {
  const fs::path out = tessel::test::temp_dir() / "x.gguf";
  auto r = tessel::test::run_tessel({"convert", checkpoint().string(), out.string(), "--type", "Q9_9"});
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Catch::Contains("--type: unknown type 'Q9_9'"));
  CHECK_FALSE(fs::exists(out));
  r = tessel::test::run_tessel({"convert", tessel::test::temp_dir().string(), out.string()});
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Catch::Contains("no format plugin recognises it"));
  CHECK_FALSE(fs::exists(out));
}

TEST_CASE("convert refuses to write over one of the checkpoint's shards") {
  const fs::path dir = tessel::test::temp_dir() / "ckpt";
  fs::copy(checkpoint(), dir);
  const fs::path shard = dir / "model-00002-of-00002.safetensors";
  const std::string before = tessel::test::read_text(shard);
  auto r = tessel::test::run_tessel({"convert", dir.string(), shard.string(), "--type", "F32"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("same file as the input") && Catch::Contains("model-00002-of-00002"));
  CHECK(tessel::test::read_text(shard) == before);
}

TEST_CASE("model.quantize quantizes a checkpoint at load exactly as tessel quantize would") {
  tessel::ModelSpec spec;
  spec.path = checkpoint();
  spec.quantize = "Q4_K_M";
  auto q = tessel::open_model(registry(), spec, 2);
  check_same_tensors(*q, *tessel::open_model_file(registry(), tessel::test::shared_path("golden/models/llama-synth-Q4_K_M.gguf")));
  spec.quantize = "Q3";
  CHECK_THROWS_WITH(tessel::open_model(registry(), spec, 2), Catch::Contains("model.quantize 'Q3' is not a preset"));
}

TEST_CASE("tessel run with --set model.quantize=Q8_0 scores a checkpoint like the Q8_0 file") {
  const fs::path dir = tessel::test::temp_dir();
  auto score = [&](const fs::path& model, const std::string& out, std::vector<std::string> extra) {
    tessel::test::write_text(dir / "p.yaml", "task: score\nmodel: {path: " + model.string() + "}\noutput: " +
                                                 (dir / out).string() +
                                                 "\ninputs:\n  - {adapter: tokens, ids: [1, 403, 261, 428]}\n");
    std::vector<std::string> args = {"run", (dir / "p.yaml").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = tessel::test::run_tessel(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return tessel::test::read_text(dir / out);
  };
  const std::string a = score(checkpoint(), "a.npy", {"--set", "model.quantize=Q8_0"});
  const std::string b = score(tessel::test::shared_path("golden/models/llama-synth-Q8_0.gguf"), "b.npy", {});
  CHECK(a.size() > 4 * 512 * 4);
  CHECK(a == b);  // same quantized bytes, same kernels: the same logits bit for bit
}
