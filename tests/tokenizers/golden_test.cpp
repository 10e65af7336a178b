// Token ids llama.cpp itself produced for the golden runs (shared/golden:
// <p>.tokens.json beside logits dumps, and the llama-embedding sidecars), with
// the add_special/parse_special flags recorded there. Covers the SPM vocab of
// the llama/stories models, Gemma's vocab (gemma3-synth, gemma-embedding-synth)
// and BERT's WordPiece (bert-synth).
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "support.hpp"
#include "tok_support.hpp"

namespace {

using namespace tessel::test;
namespace fs = std::filesystem;

std::string hex(const std::string& s) {
  static const char* h = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) { out.push_back(h[c >> 4]); out.push_back(h[c & 15]); }
  return out;
}

std::shared_ptr<tessel::Tokenizer> tokenizer_for(const fs::path& model) {
  static std::map<fs::path, std::shared_ptr<tessel::Tokenizer>> cache;
  auto& t = cache[model];
  if (!t) t = load_tokenizer(model);
  return t;
}

// Checks every JSON file under `sub` (recursively) that names a prompt and its
// token ids; returns how many were checked.
size_t check_dir(const std::string& sub, const std::string& suffix) {
  const fs::path golden = shared_path("golden");
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(shared_path("golden/" + sub))) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || name.size() < suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    std::ifstream in(e.path());
    const nlohmann::json j = nlohmann::json::parse(in);
    fs::path model;
    if (j.contains("model") && j["model"].is_string()) model = golden / j["model"].get<std::string>();
    else if (sub.rfind("stories260K", 0) == 0) model = shared_path("models/stories260K.gguf");
    else model = golden / "models" / (e.path().parent_path().filename().string() + ".gguf");
    INFO(e.path().string() << " with " << model.string());
    REQUIRE(fs::exists(model));
    auto tok = tokenizer_for(model);
    const bool add_special = j.value("add_special", true), parse_special = j.value("parse_special", true);
    const std::string prompt = j["prompt"].get<std::string>();
    using Ids = std::vector<tessel::TokenId>;
    const Ids ids = tok->encode(prompt, {add_special, parse_special});
    const Ids want = j[j.contains("token_ids") ? "token_ids" : "prompt_token_ids"].get<Ids>();
    CHECK(ids == want);
    for (const char* key : {"tokens", "prompt_tokens"})
      if (j.contains(key))
        for (const auto& t : j[key]) CHECK(hex(tok->piece(t["id"].get<int>())) == t["piece_hex"].get<std::string>());
    // Greedy runs also record llama.cpp's streamed pieces and detokenizations.
    if (j.contains("generated_ids")) {
      const Ids gen = j["generated_ids"].get<Ids>();
      std::string streamed;
      for (auto id : gen) streamed += tok->piece(id);
      CHECK(hex(streamed) == j["generated_text_hex"].get<std::string>());
      CHECK(tok->decode(gen) == j["detokenized_generated"].get<std::string>());
      Ids full = want;
      full.insert(full.end(), gen.begin(), gen.end());
      CHECK(tok->decode(full, {true, false}) == j["detokenized_full_remove_special"].get<std::string>());
    }
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("golden ids stories260K") { CHECK(check_dir("stories260K", ".tokens.json") >= 4); }
TEST_CASE("golden ids llama-synth") { CHECK(check_dir("llama-synth/logits", ".tokens.json") >= 3); }
TEST_CASE("golden ids gemma3-synth") { CHECK(check_dir("gemma3-synth", ".tokens.json") >= 3); }
TEST_CASE("golden ids bert-synth embeddings") { CHECK(check_dir("embeddings/bert-synth", ".json") >= 3); }
TEST_CASE("golden ids gemma-embedding-synth embeddings") {
  CHECK(check_dir("embeddings/gemma-embedding-synth", ".json") >= 3);
}
