// Per vocabulary in shared/models/vocab (one test case each, so ctest loads
// each file once): llama.cpp's tokenizer suite (test-tokenizer-0: each case
// encoded with add_special=false, parse_special=false must give llama.cpp's
// ids exactly), BOS as llama.cpp adds it, decode back to the text, and random
// or invalid bytes that must not throw and must come back as llama.cpp reads
// them (invalid bytes as U+FFFD).
#include <catch2/catch.hpp>

#include <random>

#include "bpe_test_util.hpp"

using namespace tessel;
using namespace tessel::bpe;

namespace {

void check_suite(const BpeTokenizer& tok, const std::string& name) {
  const auto cases = test_util::suite(name);
  REQUIRE(cases.size() == 46);
  size_t passed = 0;
  for (const auto& c : cases) {
    INFO(name << " case: '" << c.text << "'");
    const auto ids = tok.encode(c.text, {false, false});
    CHECK(ids == c.ids);
    passed += ids == c.ids;
  }
  CHECK(passed == 46);
}

void check_bos(const BpeTokenizer& tok, TokenId bos) {
  const auto plain = tok.encode("Hi there", {false, false});
  auto with = plain;
  if (bos >= 0) with.insert(with.begin(), bos);
  CHECK(tok.encode("Hi there", {true, false}) == with);
}

void check_round_trips(const BpeTokenizer& tok, bool gemma) {
  const std::string text = "Hello world \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\xA6\x99\n\tx  y";
  CHECK(tok.decode(tok.encode(text, {false, false})) == text);

  std::mt19937 rng(42);
  std::uniform_int_distribution<size_t> len(0, 300);
  for (int i = 0; i < 200; ++i) {
    const std::string t = test_util::random_text(rng, len(rng));
    INFO("random case " << i);
    std::vector<TokenId> ids;
    REQUIRE_NOTHROW(ids = tok.encode(t, {false, false}));
    for (TokenId id : ids) REQUIRE((id >= 0 && size_t(id) < tok.vocab_size()));
    std::string expect = test_util::sanitized(t);
    if (gemma) {
      replace_all(expect, "\xE2\x96\x81", " ");  // U+2581 stands for a space there
    } else {
      // A byte whose GPT-2 character is no token is dropped, as llama.cpp
      // drops it (falcon has no tokens for some control bytes).
      std::string kept;
      for (unsigned char b : expect)
        if (tok.vocab().find(utf8::byte_to_gpt2(b)) >= 0) kept += char(b);
      expect = kept;
    }
    CHECK(test_util::pieces(tok, ids) == expect);
    REQUIRE_NOTHROW(tok.decode(ids));
    REQUIRE_NOTHROW(tok.encode(t, {true, true}));
  }
}

}  // namespace

TEST_CASE("llama-bpe: suite, BOS, round trips, 100k repeats") {
  const BpeTokenizer& tok = test_util::tokenizer("llama-bpe");
  check_suite(tok, "llama-bpe");
  check_bos(tok, 128000);  // the llama3 pre-tokenizer turns add_bos on
  check_round_trips(tok, false);
  for (const std::string c : {"a", " ", "1", "\n", "\xE4\xBD\xA0", "!"}) {
    std::string t;
    for (int i = 0; i < 100000; ++i) t += c;
    INFO("100k x '" << c << "'");
    CHECK(test_util::pieces(tok, tok.encode(t, {false, false})) == t);
  }
}

TEST_CASE("deepseek-llm: suite, BOS, round trips") {
  const BpeTokenizer& tok = test_util::tokenizer("deepseek-llm");
  check_suite(tok, "deepseek-llm");
  check_bos(tok, 100000);  // tokenizer.ggml.add_bos_token = true
  check_round_trips(tok, false);
}

TEST_CASE("falcon: suite, BOS, round trips") {
  const BpeTokenizer& tok = test_util::tokenizer("falcon");
  check_suite(tok, "falcon");
  check_bos(tok, -1);
  check_round_trips(tok, false);
}

TEST_CASE("gpt-2: suite, BOS, round trips") {
  const BpeTokenizer& tok = test_util::tokenizer("gpt-2");
  check_suite(tok, "gpt-2");
  check_bos(tok, -1);
  check_round_trips(tok, false);
}

TEST_CASE("qwen2: suite, BOS, round trips, no space clean-up") {
  const BpeTokenizer& tok = test_util::tokenizer("qwen2");
  check_suite(tok, "qwen2");
  check_bos(tok, -1);
  check_round_trips(tok, false);
  CHECK(tok.decode(tok.encode("a , b", {false, false})) == "a , b");  // qwen2: clean_spaces off
}

TEST_CASE("starcoder: suite, BOS, round trips") {
  const BpeTokenizer& tok = test_util::tokenizer("starcoder");
  check_suite(tok, "starcoder");
  check_bos(tok, -1);
  check_round_trips(tok, false);
}

TEST_CASE("gemma-4: suite, BOS, round trips") {
  const BpeTokenizer& tok = test_util::tokenizer("gemma-4");
  check_suite(tok, "gemma-4");
  check_bos(tok, 2);  // llama.cpp always adds it for gemma4
  check_round_trips(tok, true);
  CHECK(tok.decode(tok.encode("a b", {false, false})) == "a b");
}
