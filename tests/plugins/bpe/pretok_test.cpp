// Pre-tokenizer behaviours: hand-checked splits for llama.cpp's quirks, the
// table of tokenizer.ggml.pre values, and a differential test of the PCRE2
// emulation against std::regex run the way llama.cpp's unicode.cpp runs it.
#include <catch2/catch.hpp>

#include <random>
#include <regex>
#include <set>

#include "pre_types.hpp"
#include "regex_split.hpp"
#include "tessel/error.hpp"
#include "tessel/vocab.hpp"

using namespace tessel;
using namespace tessel::bpe;
using Lens = std::vector<size_t>;

namespace {

Lens split(const std::string& pre, const std::string& text) {
  const PreTokenizer& p = find_pre_tokenizer(pre, "test");
  return Splitter(p.regexes, "test").split_lengths(text);
}

Lens split_rx(const std::vector<std::string>& rx, const std::string& text) {
  return Splitter(rx, "test").split_lengths(text);
}

}  // namespace

TEST_CASE("gpt-2 pattern: contractions, spaced words, whitespace before a word") {
  // Hello , _world ! _It 's _2024 . _ _ok \n\n _x
  CHECK(split("gpt-2", "Hello, world! It's 2024.  ok\n\n x") ==
        Lens{5, 1, 6, 1, 3, 2, 5, 1, 1, 3, 2, 2});
  // a non-space whitespace before a letter stays alone (llama.cpp's \s+ fallback)
  CHECK(split("gpt-2", "a\tb") == Lens{1, 1, 1});
  // trailing whitespace is one piece
  CHECK(split("gpt-2", "a   ") == Lens{1, 3});
  // contractions are lowercase only in GPT-2's pattern
  CHECK(split("gpt-2", "it'S") == Lens{2, 1, 1});
}

TEST_CASE("llama3 pattern: digits by three, newlines, case-insensitive contractions") {
  CHECK(split("llama-bpe", "12345") == Lens{3, 2});
  CHECK(split("llama-bpe", "\r\n\r\n  x") == Lens{4, 1, 2});
  CHECK(split("llama-bpe", "IT'S") == Lens{2, 2});
  CHECK(split("llama-bpe", "(x)") == Lens{2, 1});  // [^\r\n\p{L}\p{N}]?\p{L}+ takes the '('
}

TEST_CASE("qwen2 pattern: one digit per piece") {
  CHECK(split("qwen2", "x123") == Lens{1, 1, 1, 1});
}

TEST_CASE("categories are matched on llama.cpp's collapsed text") {
  // Non-ASCII letters are letters: naïve and café stay whole.
  CHECK(split("gpt-2", "na\xC3\xAFve caf\xC3\xA9") == Lens{5, 5});
  // Non-ASCII whitespace (U+3000) before a letter is a piece of its own in GPT-2.
  CHECK(split("gpt-2", "a\xE3\x80\x80" "b") == Lens{1, 1, 1});
  // ...and the optional leading character of llama3's words.
  CHECK(split("llama-bpe", "a\xE3\x80\x80" "b") == Lens{1, 2});
  // \p{Lu} and \p{Ll} both mean "any letter" there, and [^a-z] matches every
  // non-ASCII letter: GPT-4o's pattern keeps "ÄpfelÖ" together.
  CHECK(split("gpt-4o", "\xC3\x84pfel\xC3\x96L") == Lens{6, 1});
  CHECK(split("gpt-4o", "HelloWORLDfoo") == Lens{5, 8});
  // U+00B2 SUPERSCRIPT TWO is \p{N}: starcoder's first regex isolates it.
  CHECK(split("starcoder", "x\xC2\xB2y") == Lens{1, 1, 1});
}

TEST_CASE("regexes without categories run on code points (llama.cpp's std::wregex)") {
  // deepseek-llm: Latin letter runs with an optional leading space, CJK runs.
  CHECK(split("deepseek-llm", "ab \xE4\xBD\xA0\xE5\xA5\xBD" "c") == Lens{2, 1, 2, 1});
  // `$` is the end of the piece only, not before a final newline.
  CHECK(split_rx({"a$"}, "a\n") == Lens{2});
  CHECK(split_rx({"a$"}, "ba") == Lens{1, 1});
  // \s there is ASCII whitespace plus non-ASCII whitespace turned into \v.
  CHECK(split_rx({"\\s+"}, "a\xE3\x80\x80\xC2\x85" "b") == Lens{1, 2, 1});
}

TEST_CASE("empty matches split like std::regex_iterator (superbpe digit groups)") {
  CHECK(split("superbpe", "1234567") == Lens{1, 3, 3});
  CHECK(split("superbpe", "x1234567y") == Lens{1, 1, 3, 3, 1});
  CHECK(split("superbpe", "123456") == Lens{3, 3});
}

TEST_CASE("llama.cpp's hand-written splitters") {
  // AFMoE digits: the text before a digit run joins its first group.
  CHECK(split_rx({"\\p{AFMoE_digits}"}, "ab1234cd") == Lens{3, 3, 2});
  CHECK(split_rx({"\\p{AFMoE_digits}"}, "123456") == Lens{3, 3});
  // Kimi-K2: Han runs, words of other letters with contractions, digits by three.
  CHECK(split("kimi-k2", "\xE4\xBD\xA0\xE5\xA5\xBD" "world's 1234") == Lens{2, 7, 1, 3, 1});
  // gemma4: runs of newlines and of everything else.
  CHECK(split("gemma4", "a b\n\nc") == Lens{3, 2, 1});
}

TEST_CASE("invalid UTF-8 decodes to U+FFFD, one byte at a time") {
  CHECK(split("gpt-2", "a\xFF b") == Lens{1, 1, 2});
  CHECK(split("gpt-2", "\xE4\xBD") == Lens{2});  // two replacement characters, one symbol run
  std::vector<std::string> words;
  Splitter(find_pre_tokenizer("gpt-2", "test").regexes, "test").split("\xFF", false, words);
  REQUIRE(words.size() == 1);
  CHECK(words[0] == "\xEF\xBF\xBD");
  words.clear();
  Splitter(find_pre_tokenizer("gpt-2", "test").regexes, "test").split(" \xFF", true, words);
  REQUIRE(words.size() == 1);
  CHECK(words[0] == "\xC4\xA0\xC3\xAF\xC2\xBF\xC2\xBD");  // "Ġï¿½"
}

TEST_CASE("tokenizer.ggml.pre table") {
  const auto names = known_pre_tokenizers();
  for (const char* n :
       {"default", "llama3", "llama-bpe", "deepseek-llm", "deepseek-coder", "deepseek-v3", "falcon",
        "mpt", "starcoder", "gpt-2", "refact", "command-r", "qwen2", "stablelm2", "olmo", "dbrx",
        "smaug-bpe", "poro-chat", "chatglm-bpe", "viking", "jais", "tekken", "smollm",
        "codeshell", "bloom", "gpt3-finnish", "exaone", "chameleon", "minerva-7b", "gpt-4o",
        "superbpe", "trillion", "bailingmoe", "llama4", "pixtral", "seed-coder", "gemma4",
        "kimi-k2", "afmoe", "qwen35", "tiny_aya", "hunyuan", "grok-2", "minimax-m2"})
    CHECK(std::find(names.begin(), names.end(), n) != names.end());

  // Every regex of every pre-tokenizer compiles and splits a mixed text.
  const std::string sample = "Hello WORLD it's 1234567 \xC3\xA4\xC3\xB6 \xE4\xBD\xA0\xE5\xA5\xBD!!\n\n"
                             "  \t<sentinel:12> IMGIMGABZ \xF0\x9F\xA6\x99 \xFF end  ";
  for (const auto& n : names) {
    INFO(n);
    const PreTokenizer& p = find_pre_tokenizer(n, "test");
    const Lens lens = Splitter(p.regexes, "test").split_lengths(sample);
    size_t total = 0;
    for (size_t l : lens) total += l;
    CHECK(total == utf8::to_cpts(sample).size());
  }

  CHECK(find_pre_tokenizer("", "f").name == "default");
  CHECK(find_pre_tokenizer("llama-bpe", "f").ignore_merges);
  CHECK_FALSE(find_pre_tokenizer("qwen2", "f").clean_spaces);
  CHECK(find_pre_tokenizer("gpt-2", "f").clean_spaces);
  CHECK_FALSE(find_pre_tokenizer("gemma4", "f").byte_encode);
  CHECK_THROWS_WITH(find_pre_tokenizer("no-such-pre", "model.gguf"),
                    Catch::Contains("model.gguf") && Catch::Contains("'no-such-pre'"));
}

// ---- differential test against std::regex --------------------------------

namespace {

// llama.cpp's unicode_regex_split_stl: std::regex_iterator over each piece,
// gaps between matches as pieces (empty ones dropped here, they make no tokens).
template <class CharT>
Lens stl_split(const std::basic_string<CharT>& text, const std::basic_string<CharT>& rx,
               const Lens& in) {
  std::basic_regex<CharT> expr(rx, std::regex_constants::optimize | std::regex_constants::nosubs);
  Lens out;
  size_t start = 0;
  for (size_t len : in) {
    std::regex_iterator<const CharT*> it(text.data() + start, text.data() + start + len, expr), end;
    size_t last = 0;
    for (; it != end; ++it) {
      const size_t b = size_t(it->position()), n = size_t(it->length());
      if (b > last) out.push_back(b - last);
      if (n) out.push_back(n);
      last = b + n;
    }
    if (last < len) out.push_back(len - last);
    start += len;
  }
  return out;
}

// The regexes of a pre-tokenizer applied the way unicode_regex_split applies
// them when it falls back to std::regex (collapsed text or std::wregex).
Lens reference_split(const std::vector<std::string>& regexes, const std::string& text) {
  const std::vector<uint32_t> cpts = utf8::to_cpts(text);
  const std::string collapsed = detail::collapse_text(cpts);
  std::wstring wide(cpts.begin(), cpts.end());
  for (auto& c : wide)
    if (uint32_t(c) > 0x7F && utf8::is_whitespace(uint32_t(c))) c = 0x0B;
  Lens pieces;
  if (!cpts.empty()) pieces.push_back(cpts.size());
  for (const auto& rx : regexes) {
    if (detail::uses_categories(rx)) {
      pieces = stl_split<char>(collapsed, detail::collapse_regex(rx, "test"), pieces);
    } else {
      // \x{...} is PCRE2 syntax for the non-ASCII literals; std::wregex wants the characters.
      std::wstring wrx;
      for (size_t i = 0; i < rx.size();) {
        if (rx.compare(i, 3, "\\x{") == 0) {
          const size_t close = rx.find('}', i);
          wrx += wchar_t(std::stoul(rx.substr(i + 3, close - i - 3), nullptr, 16));
          i = close + 1;
        } else {
          size_t off = i;
          wrx += wchar_t(utf8::decode(rx, off));
          i = off;
        }
      }
      pieces = stl_split<wchar_t>(wide, wrx, pieces);
    }
  }
  return pieces;
}

}  // namespace

TEST_CASE("PCRE2 emulation splits exactly like std::regex on llama.cpp's representations") {
  // Short random strings over an alphabet that exercises every category.
  const std::vector<std::string> alphabet = {
      "a", "Z", "e", "s", "t", "l", "L", "'", " ", " ", "  ", "\t", "\n", "\r", "\v", "0", "7",
      "5", ".", ",", "!", "$", "+", "<", "^", "`", "|", "_", "(", ")", "[", "]", "{", "}", "/",
      "-", "\"", "\\", "\xC3\xA9", "\xC3\x84", "\xC2\xB2", "\xC2\xA0", "\xE3\x80\x80",
      "\xE2\x80\xA6", "\xE3\x80\x82", "\xEF\xBC\x8C", "\xE4\xBD\xA0", "\xED\x95\x9C",
      "\xE3\x81\x82", "\xCC\x81", "\xF0\x9F\xA6\x99", "\xE2\x82\xAC", "\xD9\xA3", "\xFF",
      "\xE0\xB8\x81", "\xE2\x85\xA0", "<", ">", "IMG", "sentinel:", "1"};
  std::mt19937 rng(1234);
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1), length(0, 24);
  std::vector<std::string> texts;
  for (int i = 0; i < 150; ++i) {
    std::string t;
    for (size_t n = length(rng); n > 0; --n) t += alphabet[pick(rng)];
    texts.push_back(t);
  }
  std::set<std::vector<std::string>> seen;  // many values share one regex list
  for (const auto& name : known_pre_tokenizers()) {
    const PreTokenizer& p = find_pre_tokenizer(name, "test");
    if (!seen.insert(p.regexes).second) continue;
    bool custom = false;
    for (const auto& rx : p.regexes) custom |= detail::is_custom(rx);
    if (custom) continue;  // hand-written splitters are checked case by case above
    const Splitter s(p.regexes, "test");
    for (const auto& t : texts) {
      INFO(name << ": '" << t << "'");
      REQUIRE(s.split_lengths(t) == reference_split(p.regexes, t));
    }
  }
}
