// Reading real GGUF files: stories260K's header, metadata and tensors.
#include <catch2/catch.hpp>
#include <cstring>

#include "gguf.hpp"
#include "support.hpp"
#include "tessel/error.hpp"

using namespace tessel;

TEST_CASE("stories260K: header, metadata and tensors") {
  auto path = test::shared_path("models/stories260K.gguf");
  auto f = gguf::read_file(path);
  REQUIRE(f->storage);
  CHECK(f->format == "gguf");
  CHECK(f->version == 3);
  CHECK(f->alignment == 32);
  CHECK(f->data_offset == 14176);
  CHECK(f->tensors.size() == 48);
  CHECK(f->meta.size() == 19);

  const Metadata& m = f->meta;
  CHECK(m.get_string("general.architecture") == "llama");
  CHECK(m.get_int("llama.embedding_length") == 64);
  CHECK(m.get_int("llama.feed_forward_length") == 172);
  CHECK(m.get_int("llama.block_count") == 5);
  CHECK(m.get_int("llama.attention.head_count") == 8);
  CHECK(m.get_int("llama.attention.head_count_kv") == 4);
  CHECK(m.get_int("llama.rope.dimension_count") == 8);
  CHECK(m.get_int("llama.context_length") == 2048);
  CHECK(m.get_float("llama.attention.layer_norm_rms_epsilon") == Approx(1e-5).epsilon(1e-6));
  CHECK_FALSE(m.has("llama.rope.freq_base"));
  CHECK_FALSE(m.has("tokenizer.ggml.pre"));
  CHECK(m.get_string("tokenizer.ggml.model") == "llama");
  CHECK(m.get_int("tokenizer.ggml.bos_token_id") == 1);
  CHECK(m.get_int("tokenizer.ggml.eos_token_id") == 2);
  CHECK(m.get_int("tokenizer.ggml.unknown_token_id") == 0);
  const auto& tokens = m.get_strings("tokenizer.ggml.tokens");
  REQUIRE(tokens.size() == 512);
  CHECK(tokens[0] == "<unk>");
  CHECK(tokens[1] == "<s>");
  CHECK(tokens[2] == "</s>");
  CHECK(m.get_floats("tokenizer.ggml.scores").size() == 512);
  CHECK(m.get_ints("tokenizer.ggml.token_type").size() == 512);

  int64_t params = 0;
  for (const auto& t : f->tensors) {
    CHECK(t.type == TypeId::F32);
    CHECK(t.data.size() == size_t(t.n_elements()) * 4);
    params += t.n_elements();
  }
  CHECK(params == 292800);
  const TensorInfo& emb = f->get("token_embd.weight");
  CHECK(emb.n_dims == 2);
  CHECK(emb.ne[0] == 64);
  CHECK(emb.ne[1] == 512);
  CHECK(emb.offset == 0);
  // Zero-copy: every tensor is a view at its offset in one mapping of the file.
  for (const auto& t : f->tensors) CHECK(t.data.data() - emb.data.data() == int64_t(t.offset));
  std::string bytes = test::read_text(path);
  const TensorInfo& norm = f->get("output_norm.weight");
  CHECK(std::memcmp(norm.data.data(), bytes.data() + f->data_offset + norm.offset, norm.data.size()) == 0);
  const TensorInfo& down = f->get("blk.0.ffn_down.weight");
  CHECK(down.ne[0] == 172);
  CHECK(down.ne[1] == 64);
  CHECK_FALSE(f->find("nope"));
  CHECK(f->find("output.weight"));
}

TEST_CASE("every shared GGUF opens") {
  std::vector<std::filesystem::path> files;
  for (auto dir : {test::shared_path("models"), test::shared_path("golden/models")})
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
      if (e.path().extension() == ".gguf") files.push_back(e.path());
  REQUIRE(files.size() >= 30);
  for (const auto& p : files) {
    INFO(p.string());
    auto f = gguf::read_file(p);
    CHECK(f->version == 3);
    CHECK(f->meta.has("general.architecture"));
  }
}

TEST_CASE("can_open sniffs the magic (and claims *.gguf so damage is explained)") {
  gguf::GgufFormat fmt;
  CHECK(fmt.can_open(test::shared_path("models/stories260K.gguf")));
  auto dir = test::temp_dir();
  test::write_text(dir / "model.bin", "GGUF\x03");
  test::write_text(dir / "notes.txt", "hello");
  test::write_text(dir / "broken.GGUF", "hello");
  CHECK(fmt.can_open(dir / "model.bin"));
  CHECK_FALSE(fmt.can_open(dir / "notes.txt"));
  CHECK(fmt.can_open(dir / "broken.GGUF"));
  CHECK_FALSE(fmt.can_open(dir / "missing"));
  CHECK_THROWS_WITH(fmt.open(dir / "broken.GGUF"), Catch::Contains("broken.GGUF: not a GGUF file"));
  std::filesystem::remove_all(dir);
}
