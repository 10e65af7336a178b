// Fuzz-style checks that need no big vocabulary: malformed UTF-8, a 1 MB text
// and 100k repeats of one character through GPT-2, and long runs through the
// splitter of every pre-tokenizer (no PCRE2 limit may be hit, nothing hangs).
#include <catch2/catch.hpp>

#include <random>

#include "bpe_test_util.hpp"
#include "regex_split.hpp"

using namespace tessel;
using namespace tessel::bpe;

TEST_CASE("truncated and malformed sequences") {
  const BpeTokenizer& tok = test_util::tokenizer("gpt-2");
  for (const std::string& t : {std::string("\xE4"), std::string("\xE4\xBD"), std::string("\xF0\x9F\xA6"),
                              std::string("\xC0\x80"), std::string("\xED\xA0\x80"),
                              std::string("\xF7\xBF\xBF\xBF"), std::string("\x80\x80\x80"),
                              std::string(1, '\0'), std::string("a\0b", 3)}) {
    std::vector<TokenId> ids;
    REQUIRE_NOTHROW(ids = tok.encode(t, {false, false}));
    CHECK_FALSE(ids.empty());
    CHECK(test_util::pieces(tok, ids) == test_util::sanitized(t));
  }
}

TEST_CASE("1 MB of text and 100k repeats of one character") {
  std::mt19937 rng(7);
  const std::string big = test_util::random_text(rng, 1 << 20);
  const BpeTokenizer& tok = test_util::tokenizer("gpt-2");
  CHECK(test_util::pieces(tok, tok.encode(big, {false, false})) == test_util::sanitized(big));
  for (const std::string c : {"a", " ", "1", "\n", "\xC3\xA9", "\xE4\xBD\xA0", "!", "'s"}) {
    std::string t;
    for (int i = 0; i < 100000; ++i) t += c;
    INFO("100k x '" << c << "'");
    CHECK(test_util::pieces(tok, tok.encode(t, {false, false})) == t);
  }
}

TEST_CASE("every pre-tokenizer survives long runs") {
  for (const std::string c : {"A", "a", " ", "1", "\n", "\xC3\xA9", "'"}) {
    std::string t;
    for (int i = 0; i < 20000; ++i) t += c;
    for (const auto& name : known_pre_tokenizers()) {
      INFO(name << ": 20000 x '" << c << "'");
      const PreTokenizer& p = find_pre_tokenizer(name, "test");
      const auto lens = Splitter(p.regexes, "test").split_lengths(t);
      size_t total = 0;
      for (size_t l : lens) total += l;
      CHECK(total == 20000);
    }
  }
}
