// WordPiece normalization and splitting (llama.cpp's llm_tokenizer_wpm_session::preprocess).
#include <catch2/catch.hpp>

#include "wpm.hpp"

using tessel::wpm::WpmTokenizer;
using V = std::vector<std::string>;

TEST_CASE("wpm preprocess: lower case, accents, punctuation, CJK") {
  CHECK(WpmTokenizer::preprocess("Hello, World!", true, true) == V{"hello", ",", "world", "!"});
  CHECK(WpmTokenizer::preprocess("Hello, World!", false, false) == V{"Hello", ",", "World", "!"});
  CHECK(WpmTokenizer::preprocess("Ça  va\tTRÈS\nbien", true, true) == V{"ca", "va", "tres", "bien"});
  CHECK(WpmTokenizer::preprocess("naïve", true, false) == V{"naïve"});      // accents kept
  CHECK(WpmTokenizer::preprocess("e\xCC\x81t\xC3\xA9", true, true) == V{"ete"});  // combining mark dropped
  CHECK(WpmTokenizer::preprocess("我想apple", true, true) == V{"我", "想", "apple"});
  CHECK(WpmTokenizer::preprocess("a$b^c", true, true) == V{"a", "$", "b", "^", "c"});  // ASCII symbols split
  CHECK(WpmTokenizer::preprocess("a€b", true, true) == V{"a€b"});  // non-ASCII symbols do not
  CHECK(WpmTokenizer::preprocess("a\x01\xE2\x80\x8B" "b", true, true) == V{"ab"});  // controls (Cc, Cf) dropped
  CHECK(WpmTokenizer::preprocess("a\xFF\x80" "b", true, true) == V{"ab"});  // invalid bytes -> U+FFFD, dropped
  CHECK(WpmTokenizer::preprocess("a\xE3\x80\x80" "b", true, true) == V{"a", "b"});  // ideographic space
  CHECK(WpmTokenizer::preprocess("   ", true, true).empty());
  CHECK(WpmTokenizer::preprocess("", true, true).empty());
}
