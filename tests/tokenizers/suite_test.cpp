// Every llama.cpp tokenizer suite in shared/models/vocab, end to end through
// `tessel tokenize --suite`, compared with llama.cpp's .out (ids per case; byte
// for byte where the file uses the leading-space format tessel prints).
#include <catch2/catch.hpp>
#include <sstream>

#include "support.hpp"
#include "tok_support.hpp"

namespace {

using namespace tessel::test;

// One line per case with surrounding spaces stripped, as llama.cpp's read_tests
// does: most .out files put a space before every id, newer ones (gemma-4) only
// between ids.
std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string l; std::getline(ss, l);) {
    size_t b = l.find_first_not_of(' '), e = l.find_last_not_of(' ');
    out.push_back(b == std::string::npos ? "" : l.substr(b, e - b + 1));
  }
  return out;
}

bool leading_space_format(const std::string& out) {
  std::stringstream ss(out);
  for (std::string l; std::getline(ss, l);)
    if (!l.empty() && l[0] != ' ') return false;
  return true;
}

void check_suite(const std::string& name) {
  const auto gguf = shared_path("models/vocab/ggml-vocab-" + name + ".gguf");
  const auto inp = shared_path("models/vocab/ggml-vocab-" + name + ".gguf.inp");
  const auto expected = read_text(shared_path("models/vocab/ggml-vocab-" + name + ".gguf.out"));
  RunResult r = run_tessel({"tokenize", "-m", gguf.string(), "--suite", inp.string()});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  const auto got = lines(r.out), want = lines(expected);
  if (got != want) {
    // Name the first case that differs, with its input, before failing.
    const auto cases = split_suite(read_text(inp));
    for (size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
      const std::string g = i < got.size() ? got[i] : "<missing>";
      const std::string w = i < want.size() ? want[i] : "<missing>";
      if (g != w) {
        FAIL("case " << i << " '" << (i < cases.size() ? cases[i] : "?") << "'\n  got: " << g
                     << "\n want: " << w);
      }
    }
  }
  CHECK(got == want);
  CHECK(got.size() == split_suite(read_text(inp)).size());
  // Where llama.cpp's file uses our format (a space before every id), byte for byte.
  if (leading_space_format(expected)) CHECK(r.out == expected);
}

}  // namespace

// SPM (plugins/tokenizers/spm)
TEST_CASE("suite llama-spm") { check_suite("llama-spm"); }
TEST_CASE("suite phi-3") { check_suite("phi-3"); }
// WPM (plugins/tokenizers/wpm)
TEST_CASE("suite bert-bge") { check_suite("bert-bge"); }
// Byte-level BPE (plugins/tokenizers/bpe)
TEST_CASE("suite gpt-2") { check_suite("gpt-2"); }
TEST_CASE("suite llama-bpe") { check_suite("llama-bpe"); }
TEST_CASE("suite qwen2") { check_suite("qwen2"); }
TEST_CASE("suite falcon") { check_suite("falcon"); }
TEST_CASE("suite starcoder") { check_suite("starcoder"); }
TEST_CASE("suite deepseek-llm") { check_suite("deepseek-llm"); }
TEST_CASE("suite gemma-4") { check_suite("gemma-4"); }

// The other output formats of `tessel tokenize` (ids from llama.cpp's golden
// once.tokens.json: "Once upon a time" -> 1 403 407 261 378).
TEST_CASE("tokenize output formats and errors") {
  const std::string m = shared_path("models/stories260K.gguf").string();
  RunResult r = run_tessel({"tokenize", "-m", m, "-p", "Once upon a time", "--ids"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "[1, 403, 407, 261, 378]\n");
  r = run_tessel({"tokenize", "-m", m, "-p", "Once upon a time", "--ids", "--no-bos"});
  CHECK(r.out == "[403, 407, 261, 378]\n");
  r = run_tessel({"tokenize", "-m", m, "-p", "Once upon a time", "--json"});
  CHECK(r.out == "{\"ids\":[1,403,407,261,378],\"pieces\":[\"<s>\",\" Once\",\" upon\",\" a\",\" time\"]}\n");
  r = run_tessel({"tokenize", "-m", m, "-p", "Once", "--pieces", "--no-bos"});
  CHECK(r.out == " Once\n");
  r = run_tessel({"tokenize", "-m", m, "-p", "Once"});
  CHECK(r.out == "     1 -> '<s>'\n   403 -> ' Once'\n");
  r = run_tessel({"tokenize", "-m", m, "-p", "<s>x", "--ids", "--no-bos"});  // special text parsed by default
  CHECK(r.out.rfind("[1, ", 0) == 0);
  r = run_tessel({"tokenize", "-m", m, "-p", "", "--ids"});
  CHECK(r.out == "[1]\n");  // an empty prompt is just BOS, as in llama.cpp

  r = run_tessel({"tokenize", "-m", m});
  CHECK(r.exit_code == 2);  // a usage error, pointing to tessel tokenize --help
  CHECK(r.err.find("-p TEXT") != std::string::npos);
  r = run_tessel({"tokenize", "-m", m, "-f", "/nonexistent/prompt.txt"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("/nonexistent/prompt.txt") != std::string::npos);
}
