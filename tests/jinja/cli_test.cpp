// `tessel template`, `tessel chat` and `generate --chat` end to end, through the binary.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <sstream>

#include "support.hpp"

using tessel::test::read_text;
using tessel::test::run_tessel;
using tessel::test::run_tessel_input;
using tessel::test::shared_path;
using tessel::test::temp_dir;
using tessel::test::write_text;

namespace {

std::string stories() { return shared_path("models/stories260K.gguf").string(); }

// conversations.json's `name` conversation as an OpenAI request body in a file.
std::string conversation_file(const std::string& name, bool wrap) {
  const auto convs = nlohmann::ordered_json::parse(read_text(shared_path("chat-templates/conversations.json")));
  const auto path = temp_dir() / "conv.json";
  write_text(path, wrap ? nlohmann::ordered_json{{"messages", convs.at(name)}}.dump() : convs.at(name).dump());
  return path.string();
}

}  // namespace

TEST_CASE("tessel template prints llama.cpp's rendering, byte for byte") {
  const auto dir = shared_path("chat-templates");
  for (const char* name : {"Qwen-Qwen2.5-7B-Instruct", "deepseek-ai-DeepSeek-R1-Distill-Llama-8B", "Kimi-K2-Instruct"}) {
    for (const bool wrap : {true, false}) {
      INFO(name << (wrap ? " (request body)" : " (bare array)"));
      auto r = run_tessel({"template", "--chat-template-file", (dir / (std::string(name) + ".jinja")).string(),
                           "--messages", conversation_file("multi_turn", wrap)});
      CHECK(r.exit_code == 0);
      CHECK(r.out == read_text(dir / "renderings" / (std::string(name) + ".multi_turn.txt")));
    }
  }
}

TEST_CASE("tessel template: options and errors") {
  const auto tmpl = temp_dir() / "t.jinja";
  write_text(tmpl, "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{% if m.content %}{% endif %}{% endfor %}"
                   "{% if add_generation_prompt %}GO{% endif %}{{ eos_token }}");
  const std::string conv = conversation_file("system_user", true);
  auto r = run_tessel({"template", "--chat-template-file", tmpl.string(), "--messages", conv});
  CHECK(r.out == "[system][user]GO</s>");  // the leading <s> goes, as llama.cpp strips it
  r = run_tessel({"template", "--chat-template-file", tmpl.string(), "--messages", conv, "--bos", "B", "--eos", "E",
                  "--no-add-generation-prompt"});
  CHECK(r.out == "[system][user]E");
  // A model without a template gets llama.cpp's chatml; its BOS is the vocabulary's.
  r = run_tessel({"template", "-m", stories(), "--messages", conv});
  CHECK(r.exit_code == 0);
  CHECK(r.out ==
        "<|im_start|>system\nYou are a helpful assistant. Answer briefly.<|im_end|>\n<|im_start|>user\n"
        "What is the capital of France?<|im_end|>\n<|im_start|>assistant\n");
  write_text(tmpl, "line one\n{{ messages | nosuch }}");
  r = run_tessel({"template", "--chat-template-file", tmpl.string(), "--messages", conv});
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Catch::Contains("line 2") && Catch::Contains("nosuch"));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  const auto bad = temp_dir() / "bad.json";
  write_text(bad, "{\"messages\": [{\"content\": \"no role\"}]}");
  r = run_tessel({"template", "--chat-template-file", tmpl.string(), "--messages", bad.string()});
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Catch::Contains("messages[0]") && Catch::Contains("role"));
  r = run_tessel({"template", "--messages", bad.string()});
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Catch::Contains("-m MODEL or --chat-template-file"));
}

TEST_CASE("generate --chat renders through a Jinja template file") {
  const auto tmpl = temp_dir() / "t.jinja";
  write_text(tmpl, "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}<assistant>");
  auto r = run_tessel({"generate", "-m", stories(), "-p", "Once", "--chat", "--chat-template-file", tmpl.string(),
                       "-n", "4", "--temp", "0"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("generated 4 tokens"));
  write_text(tmpl, "{% for m in messages %}{{ m.content | nosuch }}{% endfor %}");
  r = run_tessel({"generate", "-m", stories(), "-p", "Once", "--chat", "--chat-template-file", tmpl.string()});
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Catch::Contains("nosuch") && Catch::Contains("--chat-template NAME"));
}

TEST_CASE("tessel chat keeps the history in the KV cache and decodes only new turns") {
  const std::string input = "Hello there\nTell me more\n/regen\n/clear\nAgain\n/exit\nnot read\n";
  auto r = run_tessel_input({"chat", "-m", stories(), "-n", "8", "--temp", "0", "-v"}, input);
  CHECK(r.exit_code == 0);
  // One reply line per turn (greedy: the regenerated reply equals the first answer to it).
  std::vector<std::string> lines;
  std::istringstream ss(r.out);
  for (std::string l; std::getline(ss, l);) lines.push_back(l);
  REQUIRE(lines.size() == 4);
  CHECK(lines[1] == lines[2]);
  // Turn 2 reuses turn 1's prompt and reply from the cache; after /clear nothing is reused.
  std::vector<size_t> reused;
  for (size_t p = r.err.find("reused "); p != std::string::npos; p = r.err.find("reused ", p + 1))
    reused.push_back(std::stoul(r.err.substr(p + 7)));
  std::vector<size_t> decoded;
  for (size_t p = r.err.find("decoded "); p != std::string::npos; p = r.err.find("decoded ", p + 1))
    decoded.push_back(std::stoul(r.err.substr(p + 8)));
  REQUIRE(reused.size() == 4);
  REQUIRE(decoded.size() == 4);
  CHECK(reused[0] == 0);
  CHECK(reused[1] > 8);
  // /regen drops only the last reply: the prompt of turn 2 is still cached but
  // its last token, decoded again for fresh logits.
  CHECK(decoded[2] == 1);
  CHECK(reused[2] + 1 == reused[1] + decoded[1]);
  CHECK(reused[3] == 0);
  CHECK_THAT(r.err, Catch::Contains("[conversation cleared]"));
}

TEST_CASE("tessel chat: errors keep the session alive") {
  auto r = run_tessel_input({"chat", "-m", stories(), "-n", "4", "--temp", "0"}, "/regen\nHi\n");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("no reply to regenerate"));
  CHECK(!r.out.empty());
}
