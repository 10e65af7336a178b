// `tessel inspect` end to end: plain text, --tensors, --json, --full, and a
// malformed file giving exit 1 with one stderr line naming the file.
#include <algorithm>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "gguf_bytes.hpp"
#include "support.hpp"

using namespace tessel;

TEST_CASE("inspect stories260K: plain text") {
  auto path = test::shared_path("models/stories260K.gguf").string();
  auto r = test::run_tessel({"inspect", path});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out.find("gguf v3, alignment 32") != std::string::npos);
  CHECK(r.out.find("48 (292,800 parameters") != std::string::npos);
  CHECK(r.out.find("metadata (19 keys)") != std::string::npos);
  CHECK(r.out.find("general.architecture") != std::string::npos);
  CHECK(r.out.find("\"llama\"") != std::string::npos);
  // Long arrays are summarised: 512 tokens, 8 shown.
  CHECK(r.out.find("[string x 512]") != std::string::npos);
  CHECK(r.out.find("504 more") != std::string::npos);
  CHECK(r.out.find("blk.0.ffn_down.weight") == std::string::npos);  // no table without --tensors
}

TEST_CASE("inspect --tensors lists every tensor") {
  auto path = test::shared_path("models/stories260K.gguf").string();
  auto r = test::run_tessel({"inspect", path, "--tensors"});
  REQUIRE(r.exit_code == 0);
  size_t rows = 0;
  for (size_t at = r.out.find(".weight"); at != std::string::npos; at = r.out.find(".weight", at + 1)) ++rows;
  CHECK(rows == 48);
  CHECK(r.out.find("blk.0.ffn_down.weight") != std::string::npos);
  CHECK(r.out.find("[172, 64]") != std::string::npos);
}

TEST_CASE("inspect --json is one document with metadata, counts and tensors") {
  auto path = test::shared_path("models/stories260K.gguf").string();
  auto r = test::run_tessel({"inspect", path, "--json", "--tensors"});
  REQUIRE(r.exit_code == 0);
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["format"] == "gguf");
  CHECK(doc["version"] == 3);
  CHECK(doc["alignment"] == 32);
  CHECK(doc["data_offset"] == 14176);
  CHECK(doc["file_size"] == 1185376);
  CHECK(doc["tensor_count"] == 48);
  CHECK(doc["parameters"] == 292800);
  CHECK(doc["by_type"]["F32"]["tensors"] == 48);
  CHECK(doc["by_type"]["F32"]["bytes"] == 292800 * 4);
  const auto& meta = doc["metadata"];
  CHECK(meta["general.architecture"]["value"] == "llama");
  CHECK(meta["llama.embedding_length"]["type"] == "u32");
  CHECK(meta["llama.embedding_length"]["value"] == 64);
  CHECK(meta["tokenizer.ggml.bos_token_id"]["value"] == 1);
  CHECK(meta["tokenizer.ggml.tokens"]["count"] == 512);
  CHECK(meta["tokenizer.ggml.tokens"]["value"].size() == 8);
  CHECK(meta["tokenizer.ggml.tokens"]["truncated"] == true);
  CHECK(meta["tokenizer.ggml.tokens"]["value"][1] == "<s>");
  REQUIRE(doc["tensors"].size() == 48);
  CHECK(doc["tensors"][0]["name"] == "token_embd.weight");
  CHECK(doc["tensors"][0]["shape"] == nlohmann::json({64, 512}));
  CHECK(doc["tensors"][0]["bytes"] == 64 * 512 * 4);
  CHECK(doc["tensors"][0]["offset"] == 0);
}

TEST_CASE("inspect --full --json keeps whole arrays") {
  auto path = test::shared_path("models/stories260K.gguf").string();
  auto r = test::run_tessel({"inspect", path, "--json", "--full"});
  REQUIRE(r.exit_code == 0);
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["metadata"]["tokenizer.ggml.tokens"]["value"].size() == 512);
  CHECK(doc["metadata"]["tokenizer.ggml.scores"]["value"].size() == 512);
  CHECK_FALSE(doc.contains("tensors"));
}

TEST_CASE("inspect a vocab-only file") {
  auto path = test::shared_path("models/vocab/ggml-vocab-llama-spm.gguf").string();
  auto r = test::run_tessel({"inspect", path});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("tensors     0 (0 parameters") != std::string::npos);
}

TEST_CASE("inspect a malformed file: exit 1, one stderr line naming the file") {
  auto dir = test::temp_dir();
  auto bad = dir / "broken.gguf";
  test::FileSpec s;
  s.tensors = {{"a", {4, 2}, 0, 4096}};
  test::write_text(bad, test::build(s));
  auto r = test::run_tessel({"inspect", bad.string()});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  REQUIRE(!r.err.empty());
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find(bad.string()) != std::string::npos);
  CHECK(r.err.find("tensor 'a'") != std::string::npos);

  // Not a GGUF at all, but named .gguf: the reader still explains.
  auto junk = dir / "junk.gguf";
  test::write_text(junk, "hello world, not a model");
  r = test::run_tessel({"inspect", junk.string()});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find(junk.string() + ": not a GGUF file") != std::string::npos);
  std::filesystem::remove_all(dir);
}
