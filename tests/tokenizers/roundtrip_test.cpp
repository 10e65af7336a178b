// decode(encode(x)) == x over the suite strings, where llama.cpp's own
// detokenizer gives the text back: SPM always (byte fallback, the prefix space
// is removed again); byte-level BPE unless clean_up_tokenization_spaces
// rewrites the text (" ." -> "."...). WordPiece never round-trips (it lowercases,
// strips accents and joins pieces with spaces), so it is checked for a stable
// normalized form instead.
#include <catch2/catch.hpp>

#include "support.hpp"
#include "tessel/vocab.hpp"
#include "tok_support.hpp"

namespace {

using namespace tessel::test;

// The patterns llama.cpp's clean-up passes rewrite.
bool clean_up_changes(const std::string& s) {
  for (const char* p : {" ?", " !", " .", " ,", " ' ", " 's", " 'm", " 're", " 've"})
    if (s.find(p) != std::string::npos) return true;
  return false;
}

void check_roundtrip(const std::string& name, size_t min_checked) {
  const auto gguf = shared_path("models/vocab/ggml-vocab-" + name + ".gguf");
  auto tok = load_tokenizer(gguf);
  auto* vt = dynamic_cast<const tessel::VocabTokenizer*>(tok.get());
  REQUIRE(vt != nullptr);
  const bool clean = vt->vocab().clean_spaces;
  size_t checked = 0;
  for (const std::string& c : split_suite(read_text(shared_path("models/vocab/ggml-vocab-" + name + ".gguf.inp")))) {
    if (clean && clean_up_changes(c)) continue;
    auto ids = tok->encode(c, {false, false});
    INFO("case '" << c << "'");
    CHECK(tok->decode(ids) == c);
    // With BOS added and removed again, llama.cpp keeps the prefix space
    // (detokenize strips it only when no BOS was removed).
    const bool bos = vt->vocab().special.add_bos;
    const std::string lead = bos && vt->vocab().add_space_prefix && !c.empty() ? " " : "";
    CHECK(tok->decode(tok->encode(c), {true, false}) == lead + c);
    ++checked;
  }
  CHECK(checked >= min_checked);
}

}  // namespace

TEST_CASE("roundtrip llama-spm") { check_roundtrip("llama-spm", 46); }
TEST_CASE("roundtrip phi-3") { check_roundtrip("phi-3", 46); }
TEST_CASE("roundtrip gpt-2") { check_roundtrip("gpt-2", 35); }
TEST_CASE("roundtrip llama-bpe") { check_roundtrip("llama-bpe", 35); }
TEST_CASE("roundtrip qwen2") { check_roundtrip("qwen2", 46); }
TEST_CASE("roundtrip deepseek-llm") { check_roundtrip("deepseek-llm", 46); }

TEST_CASE("roundtrip stories260K special tokens") {
  auto tok = load_tokenizer(shared_path("models/stories260K.gguf"));
  // <s> is a control token: kept as text without parse_special, a token with it.
  auto plain = tok->encode("Hi <s> there", {false, false});
  auto parsed = tok->encode("Hi <s> there", {false, true});
  CHECK(std::find(plain.begin(), plain.end(), 1) == plain.end());
  CHECK(std::count(parsed.begin(), parsed.end(), 1) == 1);
  CHECK(tok->decode(plain) == "Hi <s> there");
  CHECK(tok->decode(parsed, {false, true}) == "Hi <s>  there");  // space prefixed after a special
  CHECK(tok->decode(parsed, {false, false}) == "Hi   there");
}

TEST_CASE("wordpiece normalizes stably") {
  auto tok = load_tokenizer(shared_path("models/vocab/ggml-vocab-bert-bge.gguf"));
  // Decoding gives the normalized words; encoding that again gives the same ids.
  for (const std::string s : {"Hello World!", "Ça va? Très bien.", "the quick brown fox", "apple 1314151"}) {
    auto ids = tok->encode(s, {false, false});
    std::string text = tok->decode(ids);
    INFO(s << " -> '" << text << "'");
    CHECK(tok->encode(text, {false, false}) == ids);
  }
  CHECK(tok->decode(tok->encode("Hello World!", {false, false})) == " hello world!");
}
TEST_CASE("roundtrip falcon") { check_roundtrip("falcon", 35); }
TEST_CASE("roundtrip starcoder") { check_roundtrip("starcoder", 35); }
TEST_CASE("roundtrip gemma-4") { check_roundtrip("gemma-4", 35); }
