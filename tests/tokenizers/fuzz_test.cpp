// Hostile inputs for every tokenizer: random bytes, invalid UTF-8, a 1 MB
// text, long runs of one character, special-token soup. Each must finish
// without throwing or crashing; where the tokenizer is lossless (SPM with byte
// fallback, on well-formed UTF-8) the text must come back exactly.
#include <catch2/catch.hpp>
#include <random>

#include "support.hpp"
#include "tessel/error.hpp"
#include "tessel/vocab.hpp"
#include "tok_support.hpp"

namespace {

using namespace tessel::test;

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = char(rng() & 0xFF);
  return s;
}

// Random well-formed UTF-8: ASCII (with spaces), Latin, CJK, emoji.
std::string random_utf8(size_t n_cpts, uint64_t seed) {
  std::mt19937_64 rng(seed);
  static const uint32_t ranges[][2] = {{0x20, 0x7E}, {0x09, 0x0D}, {0xA0, 0x24F}, {0x400, 0x4FF},
                                       {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3}, {0x1F300, 0x1F6FF}};
  std::string s;
  for (size_t i = 0; i < n_cpts; ++i) {
    const auto& r = ranges[rng() % 7];
    tessel::utf8::append(s, r[0] + uint32_t(rng() % (r[1] - r[0] + 1)));
  }
  return s;
}

// SPM gives the exact bytes back only for well-formed UTF-8: a truncated
// sequence swallows the next byte into one symbol, and when that byte starts
// an escaped space ("\u2581") its bytes come back raw (llama.cpp does the same).
bool valid_utf8(const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    size_t start = off;
    if (tessel::utf8::decode(s, off) == 0xFFFD && s.compare(start, 3, "\xEF\xBF\xBD") != 0) return false;
  }
  return true;
}

const std::vector<std::string>& invalid_utf8() {
  static const std::vector<std::string> v = {
      "\x80", "\xBF", "\xC0", "\xC1\xBF", "\xE2\x82", "\xE2\x28\xA1", "\xF0\x9F\x98", "\xF8\x88\x80\x80\x80",
      "\xFF\xFE\xFD", "\xED\xA0\x80",  // a UTF-16 surrogate
      "ok\xC3", "\xC3(\xA9", std::string("nul\0inside", 10), "\xF4\x90\x80\x80",  // > U+10FFFF
      "\xE0\x80\xAF",  // overlong '/'
  };
  return v;
}

void fuzz(const std::string& rel, bool lossless, bool big) {
  auto tok = load_tokenizer(shared_path(rel));
  auto* vt = dynamic_cast<const tessel::VocabTokenizer*>(tok.get());
  REQUIRE(vt != nullptr);
  const size_t n_vocab = tok->vocab_size();
  auto check_ids = [&](const std::vector<tessel::TokenId>& ids) {
    for (auto id : ids) REQUIRE((id >= 0 && size_t(id) < n_vocab));
  };
  auto run = [&](const std::string& s, const char* what, bool check_lossless = true) {
    INFO(what << " (" << s.size() << " bytes)");
    for (bool parse : {false, true}) {
      std::vector<tessel::TokenId> ids;
      REQUIRE_NOTHROW(ids = tok->encode(s, {true, parse}));
      check_ids(ids);
      std::string back;
      REQUIRE_NOTHROW(back = tok->decode(ids, {true, true}));
      if (lossless && check_lossless && !parse && valid_utf8(s))
        CHECK(tok->decode(tok->encode(s, {false, false})) == s);
    }
  };

  for (uint64_t seed = 1; seed <= 4; ++seed) run(random_bytes(4096, seed), "random bytes");
  for (uint64_t seed = 1; seed <= 4; ++seed) run(random_utf8(2000, seed), "random UTF-8");
  for (const auto& s : invalid_utf8()) run(s, "invalid UTF-8");
  for (const auto& s : invalid_utf8()) run("Hello " + s + " world", "invalid UTF-8 inside text");
  run(std::string(20000, 'a'), "run of 'a'");
  run(std::string(20000, ' '), "run of spaces");
  run(std::string(20000, '\n'), "run of newlines");
  std::string llamas;
  for (int i = 0; i < 5000; ++i) llamas += "\xF0\x9F\xA6\x99";  // 🦙
  run(llamas, "run of a 4-byte character");
  std::string spaces_u;
  for (int i = 0; i < 5000; ++i) spaces_u += "\xe2\x96\x81";  // ▁ itself
  // (not lossless: a literal U+2581 decodes as a space, as in llama.cpp)
  run(spaces_u, "run of U+2581", false);

  // Every special token's text glued together, with and without spaces.
  std::string soup;
  const auto& v = vt->vocab();
  for (size_t k = 0; k < v.special_cache.size() && k < 200; ++k)
    soup += v.tokens[size_t(v.special_cache[k])].text + (k % 2 ? " " : "");
  // (not lossless: SPM adds its prefix space after each user-defined token)
  run(soup, "special-token soup", false);

  // Token ids outside the vocabulary are errors, not crashes.
  std::vector<tessel::TokenId> bad = {0, tessel::TokenId(n_vocab), -5};
  CHECK_THROWS_AS(tok->decode(bad), tessel::Error);

  if (big) {
    std::string text = read_text(shared_path("models/vocab/ggml-vocab-llama-spm.gguf.inp"));
    std::string mb;
    while (mb.size() < (1u << 20)) mb += text;
    mb.resize(1u << 20);
    std::vector<tessel::TokenId> ids;
    REQUIRE_NOTHROW(ids = tok->encode(mb, {true, false}));
    check_ids(ids);
    CHECK(ids.size() > 1000);
    if (lossless) CHECK(tok->decode(tok->encode(mb, {false, false})) == mb);
  }
}

}  // namespace

TEST_CASE("fuzz stories260K (spm)") { fuzz("models/stories260K.gguf", true, false); }
TEST_CASE("fuzz llama-spm") { fuzz("models/vocab/ggml-vocab-llama-spm.gguf", true, true); }
TEST_CASE("fuzz phi-3") { fuzz("models/vocab/ggml-vocab-phi-3.gguf", true, false); }
TEST_CASE("fuzz bert-bge (wpm)") { fuzz("models/vocab/ggml-vocab-bert-bge.gguf", false, true); }
TEST_CASE("fuzz gpt-2") { fuzz("models/vocab/ggml-vocab-gpt-2.gguf", false, true); }
TEST_CASE("fuzz llama-bpe") { fuzz("models/vocab/ggml-vocab-llama-bpe.gguf", false, false); }
TEST_CASE("fuzz qwen2") { fuzz("models/vocab/ggml-vocab-qwen2.gguf", false, false); }
TEST_CASE("fuzz falcon") { fuzz("models/vocab/ggml-vocab-falcon.gguf", false, false); }
TEST_CASE("fuzz starcoder") { fuzz("models/vocab/ggml-vocab-starcoder.gguf", false, false); }
TEST_CASE("fuzz deepseek-llm") { fuzz("models/vocab/ggml-vocab-deepseek-llm.gguf", false, false); }
TEST_CASE("fuzz gemma-4") { fuzz("models/vocab/ggml-vocab-gemma-4.gguf", false, false); }
