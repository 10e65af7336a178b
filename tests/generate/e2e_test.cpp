// `tessel generate` and `tessel run configs/stories260k.yaml` end to end on
// stories260K, against llama.cpp's greedy continuations in
// golden/stories260K/greedy (64 steps, EOS not stopping them: --ignore-eos).
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support.hpp"
#include "tessel/chat.hpp"
#include "tessel/error.hpp"
#include "tessel/npy.hpp"
#include "tessel/pipeline.hpp"

using namespace tessel::test;

namespace {

std::string model() { return shared_path("models/stories260K.gguf").string(); }

struct Golden {
  std::string prompt;
  std::vector<std::string> pieces;
  size_t reliable = 0;  // steps before the first one whose top-2 logit margin is < 0.05
};

Golden golden(const std::string& name) {
  const auto dir = shared_path("golden/stories260K/greedy");
  std::ifstream in(dir / (name + ".tokens.json"));
  const auto j = nlohmann::json::parse(in);
  Golden g;
  g.prompt = j.at("prompt").get<std::string>();
  g.pieces = j.at("generated_pieces").get<std::vector<std::string>>();
  const auto logits = tessel::read_npy(dir / (name + ".logits.npy")).as_floats();
  const size_t n_vocab = 512;
  REQUIRE(logits.size() == g.pieces.size() * n_vocab);
  for (g.reliable = 0; g.reliable < g.pieces.size(); ++g.reliable) {
    const float* row = logits.data() + g.reliable * n_vocab;
    float a = -1e30f, b = -1e30f;
    for (size_t i = 0; i < n_vocab; ++i) {
      if (row[i] > a) { b = a; a = row[i]; }
      else if (row[i] > b) b = row[i];
    }
    if (a - b < 0.05f) break;
  }
  return g;
}

std::string join(const std::vector<std::string>& v, size_t n) {
  std::string s;
  for (size_t i = 0; i < n && i < v.size(); ++i) s += v[i];
  return s;
}

// stdout must equal the golden text wherever llama.cpp's choice was clear-cut.
// tessel prints the prompt first and ends with a newline, as llama.cpp does:
// both are taken off before comparing.
void check_continuation(std::string out, const Golden& g, size_t n) {
  if (out.rfind(g.prompt, 0) == 0) out.erase(0, g.prompt.size());
  const size_t k = std::min(n, g.reliable);
  const std::string expect = join(g.pieces, k);
  INFO("reliable steps: " << g.reliable);
  if (k == n) CHECK((out == expect || out == expect + "\n"));
  else CHECK(out.substr(0, expect.size()) == expect);
}

}  // namespace

TEST_CASE("greedy -n 64 --temp 0 equals llama.cpp's continuation for every golden prompt") {
  for (const char* name : {"once", "lily_ben", "one_word", "quotes", "story105"}) {
    INFO(name);
    const Golden g = golden(name);
    auto r = run_tessel({"generate", "-m", model(), "-p", g.prompt, "-n", "64", "--temp", "0", "--ignore-eos"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    check_continuation(r.out, g, 64);
    CHECK_THAT(r.err, Catch::Contains("generated 64 tokens"));
  }
}

TEST_CASE("a prompt decoded in small batches gives the same continuation") {
  const Golden g = golden("story105");  // 105 prompt tokens: 53 batches of 2
  auto r = run_tessel({"generate", "-m", model(), "-p", g.prompt, "-n", "16", "--temp", "0", "--ignore-eos",
                       "-b", "2"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  check_continuation(r.out, g, 16);
}

TEST_CASE("tessel run configs/stories260k.yaml takes the same path as tessel generate") {
  const Golden g = golden("once");
  const std::string cfg = (source_dir() / "configs" / "stories260k.yaml").string();
  auto r = run_tessel({"run", cfg, "--set", "generate.sampler.temperature=0", "--set", "generate.max_tokens=64",
                       "--set", "generate.ignore_eos=true"},
                      120, {"TESSEL_SHARED=" + shared_dir().string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  check_continuation(r.out, g, 64);

  auto plain = run_tessel({"run", cfg}, 120, {"TESSEL_SHARED=" + shared_dir().string()});
  INFO(plain.err);
  CHECK(plain.exit_code == 0);
  CHECK_FALSE(plain.out.empty());
}

TEST_CASE("the same seed gives the same text, another seed another") {
  auto gen = [&](const std::string& seed) {
    auto r = run_tessel({"generate", "-m", model(), "-p", "Once upon a time", "-n", "48", "--temp", "0.9",
                         "--seed", seed, "--ignore-eos"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return r.out;
  };
  const auto a = gen("1234"), b = gen("1234"), c = gen("99");
  CHECK(a == b);
  CHECK(a != c);
  CHECK_FALSE(a.empty());
}

TEST_CASE("-n 0 prints only the prompt (nothing with --no-display-prompt)") {
  auto r = run_tessel({"generate", "-m", model(), "-p", "Once upon a time", "-n", "0"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "Once upon a time\n");
  auto hidden = run_tessel({"generate", "-m", model(), "-p", "Once upon a time", "-n", "0", "--no-display-prompt"});
  CHECK(hidden.exit_code == 0);
  CHECK(hidden.out.empty());
}

TEST_CASE("a stop string ends the output before it") {
  const Golden g = golden("once");
  REQUIRE(g.reliable >= 8);
  REQUIRE(join(g.pieces, 8) == ", there was a little girl");
  auto r = run_tessel({"generate", "-m", model(), "-p", "Once upon a time", "-n", "64", "--temp", "0",
                       "--stop", " girl", "--stop", "never-seen"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "Once upon a time, there was a little\n");
}

TEST_CASE("a full context stops with a message on stderr, not an error") {
  const Golden g = golden("once");
  auto r = run_tessel({"generate", "-m", model(), "-p", "Once upon a time", "-n", "100", "--temp", "0",
                       "-c", "16", "--ignore-eos"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("context full"));
  check_continuation(r.out, g, 12);  // 16 - 5 prompt tokens decoded, + the last one sampled
}

TEST_CASE("bad generate options are one-line errors") {
  auto tmpl = run_tessel({"generate", "-m", model(), "-p", "Hi", "--chat", "--chat-template", "bogus"});
  CHECK(tmpl.exit_code == 1);
  CHECK_THAT(tmpl.err, Catch::Contains("bogus"));
  auto ctx = run_tessel({"generate", "-m", model(), "-p", "Once upon a time", "-c", "3"});
  CHECK(ctx.exit_code == 1);
  CHECK_THAT(ctx.err, Catch::Contains("context"));
}

TEST_CASE("chat mode on a model without a template uses chatml") {
  auto r = run_tessel({"generate", "-m", model(), "-p", "Hi", "--chat", "--system", "Be nice.", "-n", "4",
                       "--temp", "0"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
}

TEST_CASE("auto chat template on real GGUF templates (llama.cpp's vocab files)") {
  auto reg = tessel::make_registry();
  auto resolve = [&](const std::string& rel) {
    auto file = tessel::open_model_file(*reg, shared_path(rel));
    return tessel::resolve_chat_template("auto", file->meta);
  };
  CHECK(resolve("models/vocab/ggml-vocab-phi-3.gguf") == "phi3");
  CHECK(resolve("models/vocab/ggml-vocab-qwen2.gguf") == "chatml");
  CHECK(resolve("models/vocab/ggml-vocab-llama-spm.gguf") == "chatml");  // no template: chatml
  CHECK(resolve("models/stories260K.gguf") == "chatml");
  // Gemma 4's template is none of llama.cpp's legacy families.
  CHECK_THROWS_WITH(resolve("models/vocab/ggml-vocab-gemma-4.gguf"), Catch::Contains("--chat-template NAME"));
}

TEST_CASE("Gemma 3's chat template (tokenizer_config.json) is detected as gemma") {
  std::ifstream in(shared_path("models/tokenizers/gemma3/tokenizer_config.json"));
  const auto j = nlohmann::json::parse(in);
  CHECK(tessel::detect_chat_template(j.at("chat_template").get<std::string>()) == "gemma");
}

TEST_CASE("generate with an image: mtmd-style prompt, first token as llama.cpp's last logits pick it") {
  const auto text_model = shared_path("golden/models/gemma3-synth-128.gguf").string();
  const auto mmproj = shared_path("models/mmproj/mmproj-tinygemma3.gguf").string();
  const auto image = shared_path("golden/mtmd-gemma3/images/grad32.png").string();
  const auto last = tessel::read_npy(shared_path("golden/mtmd-gemma3/grad32.last_logits.npy")).as_floats();
  REQUIRE_FALSE(last.empty());
  size_t best = 0, second = 1;
  if (last[second] > last[best]) std::swap(best, second);
  for (size_t i = 2; i < last.size(); ++i) {
    if (last[i] > last[best]) { second = best; best = i; }
    else if (last[i] > last[second]) second = i;
  }
  auto reg = tessel::make_registry();
  auto file = tessel::open_model_file(*reg, text_model);
  auto tok = tessel::make_tokenizer(*reg, file);

  auto r = run_tessel({"generate", "-m", text_model, "--mmproj", mmproj, "--image", image, "-p",
                       "Here is a picture: <__media__> What colors do you see?", "-n", "1", "--temp", "0",
                       "--ignore-eos", "--no-display-prompt"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("prompt 312 tokens"));  // 28 text + 256 image rows + 28 text
  const std::string piece = tok->piece(tessel::TokenId(best));
  if (last[best] - last[second] > 0.05f) CHECK((r.out == piece || r.out == piece + "\n"));

  auto missing = run_tessel({"generate", "-m", text_model, "--image", image, "-p", "<__media__> hi"});
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Catch::Contains("mmproj"));
}
