// llama.cpp's tokenizer suites (test-tokenizer-0) for every BPE vocabulary in
// shared/models/vocab: each case encoded with add_special=false,
// parse_special=false must give llama.cpp's ids exactly.
#include <catch2/catch.hpp>

#include "bpe_test_util.hpp"

using namespace tessel;
using namespace tessel::bpe;

namespace {

void check_suite(const std::string& name) {
  const BpeTokenizer& tok = test_util::tokenizer(name);
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

}  // namespace

TEST_CASE("suite llama-bpe") { check_suite("llama-bpe"); }
TEST_CASE("suite deepseek-llm") { check_suite("deepseek-llm"); }
TEST_CASE("suite falcon") { check_suite("falcon"); }
TEST_CASE("suite gpt-2") { check_suite("gpt-2"); }
TEST_CASE("suite qwen2") { check_suite("qwen2"); }
TEST_CASE("suite starcoder") { check_suite("starcoder"); }
TEST_CASE("suite gemma-4") { check_suite("gemma-4"); }
