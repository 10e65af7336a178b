// What the vocab core does around the BPE fragments, seen through the plugin:
// special tokens with and without parse_special, BOS from the file or the
// pre-tokenizer, decoding back to bytes with llama.cpp's space clean-up, and
// the errors for unusable metadata.
#include <catch2/catch.hpp>

#include "bpe_test_util.hpp"
#include "tessel/error.hpp"

using namespace tessel;
using namespace tessel::bpe;
using Ids = std::vector<TokenId>;

TEST_CASE("special tokens are split out only with parse_special") {
  const BpeTokenizer& tok = test_util::tokenizer("gpt-2");
  CHECK(tok.encode("Hello<|endoftext|>", {false, true}) == Ids{15496, 50256});
  // Without it the control token's text is ordinary text.
  CHECK(tok.encode("Hello<|endoftext|>", {false, false}) == Ids{15496, 27, 91, 437, 1659, 5239, 91, 29});
  CHECK(tok.is_eog(50256));
  CHECK(tok.decode(Ids{15496, 50256}) == "Hello");
  CHECK(tok.decode(Ids{15496, 50256}, {false, true}) == "Hello<|endoftext|>");
}

TEST_CASE("BOS as llama.cpp adds it") {
  // llama-bpe: the llama3 pre-tokenizer turns add_bos on.
  CHECK(test_util::tokenizer("llama-bpe").encode("Hi", {true, false}).front() == 128000);
  // deepseek-llm: tokenizer.ggml.add_bos_token = true.
  CHECK(test_util::tokenizer("deepseek-llm").encode("Hi", {true, false}).front() == 100000);
  // gemma4: always (llama.cpp's override).
  CHECK(test_util::tokenizer("gemma-4").encode("Hi", {true, false}).front() == 2);
  // gpt-2 and qwen2: no BOS.
  CHECK(test_util::tokenizer("gpt-2").encode("Hi", {true, false}) ==
        test_util::tokenizer("gpt-2").encode("Hi", {false, false}));
  CHECK(test_util::tokenizer("qwen2").encode("Hi", {true, false}) ==
        test_util::tokenizer("qwen2").encode("Hi", {false, false}));
}

TEST_CASE("decode reassembles bytes") {
  for (const char* name : {"gpt-2", "llama-bpe", "qwen2", "deepseek-llm", "falcon", "starcoder", "gemma-4"}) {
    INFO(name);
    const BpeTokenizer& tok = test_util::tokenizer(name);
    const std::string text = "Hello world \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\xA6\x99\n\tx";
    CHECK(tok.decode(tok.encode(text, {false, false})) == text);
  }
  // clean_up_tokenization_spaces: on for gpt-2, off for qwen2 (as llama.cpp sets them).
  CHECK(test_util::tokenizer("gpt-2").decode(test_util::tokenizer("gpt-2").encode("a , b", {false, false})) == "a, b");
  CHECK(test_util::tokenizer("qwen2").decode(test_util::tokenizer("qwen2").encode("a , b", {false, false})) == "a , b");
  // gemma4 pieces carry U+2581 for spaces.
  const BpeTokenizer& g = test_util::tokenizer("gemma-4");
  const auto ids = g.encode("a b", {false, false});
  CHECK(g.decode(ids) == "a b");
}

TEST_CASE("unusable metadata is a tessel::Error naming file and value") {
  auto file = gguf::read_file(tessel::test::shared_path("models/vocab/ggml-vocab-gpt-2.gguf"));
  SECTION("unknown tokenizer.ggml.pre") {
    file->meta.set("tokenizer.ggml.pre", MetaValue::of_string("no-such-pre"));
    CHECK_THROWS_AS(BpeTokenizer(*file), Error);
    CHECK_THROWS_WITH(BpeTokenizer(*file),
                      Catch::Contains("'no-such-pre'") && Catch::Contains("ggml-vocab-gpt-2.gguf"));
  }
  SECTION("missing merges") {
    file->meta.erase("tokenizer.ggml.merges");
    CHECK_THROWS_AS(BpeTokenizer(*file), Error);
    CHECK_THROWS_WITH(BpeTokenizer(*file), Catch::Contains("tokenizer.ggml.merges"));
  }
  SECTION("not a BPE vocabulary") {
    file->meta.set("tokenizer.ggml.model", MetaValue::of_string("llama"));
    CHECK_THROWS_AS(BpeTokenizer(*file), Error);
  }
  SECTION("no tokenizer.ggml.pre means llama.cpp's default") {
    file->meta.erase("tokenizer.ggml.pre");
    const BpeTokenizer t(*file);
    CHECK(t.pre_tokenizer().name == "default");
    CHECK(t.encode("Hello world", {false, false}) == Ids{15496, 995});
  }
}
