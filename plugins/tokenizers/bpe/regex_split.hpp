#pragma once
// Splits text into BPE words exactly the way llama.cpp's unicode_regex_split
// does, with PCRE2 (JIT) doing the matching.
//
// llama.cpp runs each regex with std::regex over a transformed text, and the
// transformation decides the semantics, so we reproduce it rather than use
// PCRE2's own Unicode support:
//  - A regex naming a category (\p{L} \p{N} \p{P} \p{S} \p{M} \p{Lu}...) runs on
//    the "collapsed" text: one byte per code point, ASCII kept, every other
//    code point replaced by a byte standing for its category (whitespace ->
//    \v), and each \p{X} rewritten to that byte plus the ASCII members. So
//    \p{Lu} matches any letter, and \s only ASCII whitespace and \v.
//  - Any other regex runs on the code points themselves (std::wregex in the
//    C locale: \s \d \w are ASCII only; non-ASCII whitespace becomes \v).
//  - llama.cpp's hand-written splitters whose output differs from their regex
//    (AFMoE/tiny_aya digit groups, Kimi-K2's Han handling) are reproduced.
// Each regex splits every piece the previous one produced; text between
// matches becomes a piece of its own. Invalid UTF-8 decodes to U+FFFD.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tessel::bpe {

class Splitter {
 public:
  // Compiles the regexes; throws tessel::Error naming `source` and the regex
  // when one does not compile.
  Splitter(const std::vector<std::string>& regexes, const std::string& source);
  ~Splitter();
  Splitter(const Splitter&) = delete;
  Splitter& operator=(const Splitter&) = delete;

  // Appends the words of `text` to `words`: UTF-8 re-encoded from the decoded
  // code points, then GPT-2 byte-encoded when `byte_encode`. Thread-safe.
  void split(std::string_view text, bool byte_encode, std::vector<std::string>& words) const;

  // The piece lengths in code points (empty pieces dropped), for tests.
  std::vector<size_t> split_lengths(std::string_view text) const;

  struct Step;
  struct Text;

 private:
  std::vector<std::unique_ptr<Step>> steps_;
  std::string source_;
};

// The pieces of the emulation, exposed for tests that compare it with std::regex.
namespace detail {
// True when llama.cpp runs `rx` on the collapsed text (it names a category).
bool uses_categories(const std::string& rx);
// llama.cpp's rewrite of such a regex for the collapsed text.
std::string collapse_regex(const std::string& rx, const std::string& source);
// The collapsed text: one byte per code point.
std::string collapse_text(const std::vector<uint32_t>& cpts);
// True for the regexes llama.cpp handles with a hand-written splitter whose
// result differs from the regex (AFMoE/tiny_aya digits, Kimi-K2).
bool is_custom(const std::string& rx);
}  // namespace detail

}  // namespace tessel::bpe
