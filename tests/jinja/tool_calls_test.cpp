// Tool calls in chat templates. OpenAI clients send a call's arguments as a
// JSON string; llama.cpp parses the string into an object before rendering
// when its probe finds that the template reads the arguments as one
// (supports_object_arguments: `arguments | tojson`, `arguments | items`,
// `arguments.city`), and hands the request's tools to the template as the
// `tools` global. tool_calls/*.txt are llama-server's renderings of
// tool_calls/conversation.json through every shared template (how they were
// made: tool_calls/README.md).
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support.hpp"
#include "tessel/error.hpp"
#include "tessel/jinja.hpp"

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;
using tessel::test::read_text;
using tessel::test::shared_path;

TEST_CASE("tool calls: real templates render a conversation with tools as llama.cpp does") {
  const fs::path dir = tessel::test::source_dir() / "tests" / "jinja" / "tool_calls";
  const ojson conv = ojson::parse(read_text(dir / "conversation.json"));
  std::vector<fs::path> expected;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".txt") expected.push_back(e.path());
  std::sort(expected.begin(), expected.end());
  REQUIRE(expected.size() >= 45);
  for (const auto& file : expected) {
    const std::string name = file.stem().string();
    INFO(name);
    const tessel::ChatTemplate tmpl(read_text(shared_path("chat-templates/" + name + ".jinja")));
    tessel::ChatTemplateOptions opt;  // <s> / </s>, as the renderings were made with stories260K
    opt.extra["tools"] = conv["tools"];
    CHECK(tmpl.render(conv["messages"], opt) == read_text(file));
  }
  // The two ways of reading arguments as an object are both recognised.
  CHECK(tessel::ChatTemplate(read_text(shared_path("chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja"))).caps().object_arguments);
  CHECK(tessel::ChatTemplate(read_text(shared_path("chat-templates/Qwen3-Coder.jinja"))).caps().object_arguments);
}

namespace {

ojson call_with(const ojson& arguments) {
  return ojson::array(
      {{{"role", "user"}, {"content", "hi"}},
       {{"role", "assistant"},
        {"content", nullptr},
        {"tool_calls", ojson::array({{{"id", "c1"}, {"type", "function"},
                                      {"function", {{"name", "f"}, {"arguments", arguments}}}}})}}});
}

const char* kAsObject =
    "{% for m in messages %}{% if m.tool_calls %}{{ m.tool_calls[0].function.arguments | tojson }}{% endif %}{% endfor %}";
const char* kAsText =
    "{% for m in messages %}{% if m.tool_calls %}{{ m.tool_calls[0].function.arguments }}{% endif %}{% endfor %}";

}  // namespace

TEST_CASE("tool calls: arguments are parsed for templates that read them as an object, and only for them") {
  const tessel::ChatTemplate as_object(kAsObject), as_text(kAsText);
  REQUIRE(as_object.caps().object_arguments);
  REQUIRE(!as_text.caps().object_arguments);
  const ojson compact = call_with(R"({"b":1,"a":[true,"x"]})");
  // Parsed (key order kept), then printed by tojson with its own separators.
  CHECK(as_object.render(compact) == R"({"b": 1, "a": [true, "x"]})");
  // The string as the client sent it.
  CHECK(as_text.render(compact) == R"({"b":1,"a":[true,"x"]})");
  // Arguments sent as an object reach a string-reading template as JSON text.
  CHECK(as_text.render(call_with({{"b", 1}})) == R"({"b":1})");
  CHECK(as_object.render(call_with({{"b", 1}})) == R"({"b": 1})");
  // Text that is not JSON: an error naming the field for a template that
  // needs an object (llama.cpp fails the same way), passed through otherwise.
  REQUIRE_THROWS_WITH(as_object.render(call_with("{oops")),
                      Catch::Contains("messages[1].tool_calls[0].function.arguments is not valid JSON") &&
                          Catch::Contains("{oops"));
  CHECK(as_text.render(call_with("{oops")) == "{oops");
}
