// Fuzz-style checks: random bytes, invalid UTF-8, a 1 MB text and 100k
// repeats of one character go through every layer without throwing, and the
// token pieces give back the text (invalid bytes as U+FFFD, as llama.cpp).
#include <catch2/catch.hpp>

#include <random>

#include "bpe_test_util.hpp"
#include "regex_split.hpp"
#include "tessel/vocab.hpp"

using namespace tessel;
using namespace tessel::bpe;

namespace {

// What llama.cpp tokenizes for `text`: invalid bytes replaced by U+FFFD.
std::string sanitized(const std::string& text) {
  std::string out;
  for (uint32_t c : utf8::to_cpts(text)) utf8::append(out, c);
  return out;
}

std::string pieces(const BpeTokenizer& tok, const std::vector<TokenId>& ids) {
  std::string s;
  for (TokenId id : ids) s += tok.piece(id);
  return s;
}

std::string random_text(std::mt19937& rng, size_t n) {
  // Mostly ASCII and valid multi-byte characters, some raw bytes.
  static const std::vector<std::string> parts = {
      "a", "b", "Z", " ", " ", "\n", "\t", "1", "9", ".", "'", "'s", "!", "\xC3\xA9",
      "\xE4\xBD\xA0", "\xF0\x9F\xA6\x99", "\xE3\x80\x80", "\xE2\x96\x81", "\xCC\x81"};
  std::uniform_int_distribution<size_t> pick(0, parts.size() + 3);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string s;
  while (s.size() < n) {
    const size_t k = pick(rng);
    if (k < parts.size()) s += parts[k];
    else s += char(byte(rng));
  }
  return s;
}

}  // namespace

TEST_CASE("random and invalid bytes: no throw, pieces give the text back") {
  std::mt19937 rng(42);
  std::uniform_int_distribution<size_t> len(0, 300);
  for (const char* name : {"gpt-2", "llama-bpe", "qwen2", "deepseek-llm", "gemma-4"}) {
    const BpeTokenizer& tok = test_util::tokenizer(name);
    for (int i = 0; i < 300; ++i) {
      const std::string t = random_text(rng, len(rng));
      INFO(name << " case " << i);
      std::vector<TokenId> ids;
      REQUIRE_NOTHROW(ids = tok.encode(t, {false, false}));
      for (TokenId id : ids) REQUIRE((id >= 0 && size_t(id) < tok.vocab_size()));
      std::string expect = sanitized(t);
      if (std::string(name) == "gemma-4") replace_all(expect, "\xE2\x96\x81", " ");
      CHECK(pieces(tok, ids) == expect);
      REQUIRE_NOTHROW(tok.decode(ids));
      REQUIRE_NOTHROW(tok.encode(t, {true, true}));
    }
  }
}

TEST_CASE("truncated and malformed sequences") {
  const BpeTokenizer& tok = test_util::tokenizer("gpt-2");
  for (const std::string t : {std::string("\xE4"), std::string("\xE4\xBD"), std::string("\xF0\x9F\xA6"),
                              std::string("\xC0\x80"), std::string("\xED\xA0\x80"),
                              std::string("\xF7\xBF\xBF\xBF"), std::string("\x80\x80\x80"),
                              std::string(1, '\0'), std::string("a\0b", 3)}) {
    std::vector<TokenId> ids;
    REQUIRE_NOTHROW(ids = tok.encode(t, {false, false}));
    CHECK_FALSE(ids.empty());
  }
}

TEST_CASE("1 MB of text and 100k repeats of one character") {
  std::mt19937 rng(7);
  const std::string big = random_text(rng, 1 << 20);
  const BpeTokenizer& gpt2 = test_util::tokenizer("gpt-2");
  const auto ids = gpt2.encode(big, {false, false});
  CHECK(pieces(gpt2, ids) == sanitized(big));

  const BpeTokenizer& llama = test_util::tokenizer("llama-bpe");
  for (const std::string c : {"a", " ", "1", "\n", "\xC3\xA9", "\xE4\xBD\xA0", "!"}) {
    std::string t;
    for (int i = 0; i < 100000; ++i) t += c;
    INFO("100k x '" << c << "'");
    for (const BpeTokenizer* tok : {&gpt2, &llama}) {
      const auto r = tok->encode(t, {false, false});
      CHECK(pieces(*tok, r) == t);
    }
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
