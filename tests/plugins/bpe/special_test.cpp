// What the vocab core does around the BPE fragments, seen through the plugin
// (GPT-2 only; BOS and decoding per vocabulary are in suite_test.cpp):
// special tokens with and without parse_special, llama.cpp's space clean-up
// on decode, and the errors for unusable metadata.
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

TEST_CASE("clean_up_tokenization_spaces on decode (gpt-2)") {
  const BpeTokenizer& tok = test_util::tokenizer("gpt-2");
  CHECK(tok.decode(tok.encode("a , b", {false, false})) == "a, b");
  CHECK(tok.decode(tok.encode("don 't", {false, false})) == "don 't");
  CHECK(tok.decode(tok.encode("it 's", {false, false})) == "it's");
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
