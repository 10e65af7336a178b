#pragma once
// Shared helpers of the bpe plugin tests: vocab files, suites, tokenizers.
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bpe_tokenizer.hpp"
#include "gguf.hpp"
#include "support.hpp"

namespace tessel::bpe::test_util {

// One tokenizer per vocab file, shared by the test cases of a binary (loading
// the bigger ones takes a moment).
inline const BpeTokenizer& tokenizer(const std::string& name) {
  static std::map<std::string, std::unique_ptr<BpeTokenizer>> cache;
  auto& t = cache[name];
  if (!t) {
    auto file = gguf::read_file(tessel::test::shared_path("models/vocab/ggml-vocab-" + name + ".gguf"));
    t = std::make_unique<BpeTokenizer>(*file);
  }
  return *t;
}

struct Case {
  std::string text;
  std::vector<TokenId> ids;
};

// llama.cpp's test-tokenizer-0 suite: .inp cases separated by
// "\n__ggml_vocab_test__\n" (with a trailing one), .out one line of ids per case.
inline std::vector<Case> suite(const std::string& name) {
  const std::string base = "models/vocab/ggml-vocab-" + name + ".gguf";
  const std::string inp = tessel::test::read_text(tessel::test::shared_path(base + ".inp"));
  const std::string out = tessel::test::read_text(tessel::test::shared_path(base + ".out"));
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<Case> cases;
  for (size_t pos = 0; pos < inp.size();) {
    size_t hit = inp.find(sep, pos);
    if (hit == std::string::npos) hit = inp.size();
    cases.push_back({inp.substr(pos, hit - pos), {}});
    pos = hit + sep.size();
  }
  std::istringstream lines(out);
  std::string line;
  for (auto& c : cases) {
    if (!std::getline(lines, line)) break;
    std::istringstream ids(line);
    for (long id; ids >> id;) c.ids.push_back(TokenId(id));
  }
  return cases;
}

// What llama.cpp tokenizes for `text`: invalid bytes replaced by U+FFFD.
inline std::string sanitized(const std::string& text) {
  std::string out;
  for (uint32_t c : utf8::to_cpts(text)) utf8::append(out, c);
  return out;
}

// The concatenated pieces of `ids`: the bytes the tokens stand for.
inline std::string pieces(const BpeTokenizer& tok, const std::vector<TokenId>& ids) {
  std::string s;
  for (TokenId id : ids) s += tok.piece(id);
  return s;
}

// Mostly ASCII and valid multi-byte characters, with some raw (often invalid) bytes.
inline std::string random_text(std::mt19937& rng, size_t n) {
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

}  // namespace tessel::bpe::test_util
