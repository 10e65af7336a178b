// `tessel serve`'s chat prompts: rendered through the model's (or a file's)
// Jinja template exactly as llama-server's /apply-template renders them (the
// shared renderings were recorded from it with stories260K) and as `tessel
// template` prints them; chat completions equal `tessel generate --chat`;
// image parts (base64 data URLs) go through the projector as `generate
// --image` sends them.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "server_process.hpp"
#include "support.hpp"

using namespace tessel::test;
using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

std::string stories() { return shared_path("models/stories260K.gguf").string(); }

json body_of(const HttpResult& r) {
  INFO("status " << r.status << ", body: " << r.body);
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}

std::string apply_template(const ServerProcess& s, const std::string& body) {
  return body_of(post_json(s.url("/apply-template"), body))["prompt"].get<std::string>();
}

// `tessel template ARGS --messages FILE` for `messages`.
std::string tessel_template(std::vector<std::string> args, const ojson& messages) {
  const auto file = temp_dir() / "messages.json";
  write_text(file, ojson{{"messages", messages}}.dump());
  args.insert(args.begin(), "template");
  args.push_back("--messages");
  args.push_back(file.string());
  auto r = run_tessel(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

void require_error(const HttpResult& r, int status, const std::string& words) {
  INFO("status " << r.status << ", body: " << r.body);
  REQUIRE(r.status == status);
  REQUIRE_THAT(json::parse(r.body)["error"]["message"].get<std::string>(), Catch::Contains(words));
}

std::string base64(const std::string& bytes) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    if (i + 1 < bytes.size()) v |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) v |= uint8_t(bytes[i + 2]);
    out += a[v >> 18 & 63];
    out += a[v >> 12 & 63];
    out += i + 1 < bytes.size() ? a[v >> 6 & 63] : '=';
    out += i + 2 < bytes.size() ? a[v & 63] : '=';
  }
  return out;
}

// generate's stdout is the reply plus a newline unless the reply ends with one.
bool same_reply(const std::string& generate_out, const std::string& reply) {
  return generate_out == reply || generate_out == reply + "\n";
}

}  // namespace

TEST_CASE("serve: /apply-template renders --chat-template-file as llama-server did, and as tessel template") {
  const auto dir = shared_path("chat-templates");
  const auto convs = ojson::parse(read_text(dir / "conversations.json"));
  // Families with different machinery: Qwen (tools branch, loop.last), Gemma 4
  // (macros, typed content), DeepSeek R1 (namespace, split), Kimi (ns loops),
  // Granite (date, tojson), Mistral reasoning (raise_exception paths).
  for (const char* name : {"Qwen-Qwen2.5-7B-Instruct", "google-gemma-4-31B-it-interleaved",
                           "deepseek-ai-DeepSeek-R1-Distill-Llama-8B", "Kimi-K2-Instruct",
                           "mistralai-Ministral-3-14B-Reasoning-2512", "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use"}) {
    const std::string tmpl = (dir / (std::string(name) + ".jinja")).string();
    ServerProcess s({"-m", stories(), "-c", "256", "-t", "1", "--chat-template-file", tmpl});
    for (auto it = convs.begin(); it != convs.end(); ++it) {
      INFO(name << " / " << it.key());
      const std::string got = apply_template(s, ojson{{"messages", it.value()}}.dump());
      CHECK(got == read_text(dir / "renderings" / (std::string(name) + "." + it.key() + ".txt")));
      CHECK(got == tessel_template({"--chat-template-file", tmpl}, it.value()));
    }
  }
}

TEST_CASE("serve: the model's own template by default; add_generation_prompt, kwargs and a continued reply") {
  const ojson conv = ojson::parse(R"([{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}])");
  {
    // stories260K has no tokenizer.chat_template: llama.cpp's chatml, as `tessel template -m` renders it.
    ServerProcess s({"-m", stories(), "-c", "256", "-t", "1"});
    CHECK(apply_template(s, ojson{{"messages", conv}}.dump()) == tessel_template({"-m", stories()}, conv));
    REQUIRE_THAT(s.log(), Catch::Contains("chatml"));
  }
  const std::string tmpl = shared_path("chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja").string();
  ServerProcess s({"-m", stories(), "-c", "256", "-t", "1", "--chat-template-file", tmpl});
  const std::string open = apply_template(s, ojson{{"messages", conv}}.dump());
  const std::string closed = apply_template(s, ojson{{"messages", conv}, {"add_generation_prompt", false}}.dump());
  CHECK(closed == tessel_template({"--chat-template-file", tmpl, "--no-add-generation-prompt"}, conv));
  CHECK(open == closed + "<|im_start|>assistant\n");
  // chat_template_kwargs become template globals (Qwen's template ignores unknown ones).
  CHECK(apply_template(s, ojson{{"messages", conv}, {"chat_template_kwargs", {{"x", 1}}}}.dump()) == open);
  // A trailing assistant message is continued, not closed (llama-server's prefill).
  ojson prefill = conv;
  prefill.push_back({{"role", "assistant"}, {"content", "Once upon"}});
  CHECK(apply_template(s, ojson{{"messages", prefill}}.dump()) == open + "Once upon");
  require_error(post_json(s.url("/apply-template"), R"({"messages":[{"role":"user","content":"x"}],"chat_template_kwargs":3})"),
                400, "chat_template_kwargs");
}

TEST_CASE("serve: a chat completion at temperature 0 equals tessel generate --chat through the same template") {
  const std::string tmpl = shared_path("chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja").string();
  auto gen = run_tessel({"generate", "-m", stories(), "--chat", "--chat-template-file", tmpl, "--system", "You tell stories.",
                         "-p", "Tell me about a cat.", "-n", "24", "--temp", "0", "-t", "1"});
  INFO(gen.err);
  REQUIRE(gen.exit_code == 0);
  ServerProcess s({"-m", stories(), "-c", "512", "-t", "1", "--chat-template-file", tmpl});
  const json r = body_of(post_json(s.url("/v1/chat/completions"),
                                   json{{"messages", {{{"role", "system"}, {"content", "You tell stories."}},
                                                      {{"role", "user"}, {"content", "Tell me about a cat."}}}},
                                        {"max_tokens", 24}, {"temperature", 0}}.dump()));
  CHECK(same_reply(gen.out, r["choices"][0]["message"]["content"].get<std::string>()));
  CHECK_THAT(gen.err, Catch::Contains("prompt " + std::to_string(r["usage"]["prompt_tokens"].get<int>()) + " tokens"));
}

TEST_CASE("serve: image parts go through --mmproj as generate --image sends them; without a projector, 400") {
  const auto text_model = shared_path("golden/models/gemma3-synth-128.gguf").string();
  const auto mmproj = shared_path("models/mmproj/mmproj-tinygemma3.gguf").string();
  const auto image = shared_path("golden/mtmd-gemma3/images/grad32.png");
  auto gen = run_tessel({"generate", "-m", text_model, "--mmproj", mmproj, "--image", image.string(), "--chat", "-p",
                         "Here is a picture: <__media__> What colors do you see?", "-n", "6", "--temp", "0",
                         "--ignore-eos", "-t", "1"});
  INFO(gen.err);
  REQUIRE(gen.exit_code == 0);
  const std::string url = "data:image/png;base64," + base64(read_text(image));
  const json parts = {{{"type", "text"}, {"text", "Here is a picture: "}},
                      {{"type", "image_url"}, {"image_url", {{"url", url}}}},
                      {{"type", "text"}, {"text", " What colors do you see?"}}};
  const json req = {{"messages", {{{"role", "user"}, {"content", parts}}}}, {"max_tokens", 6}, {"temperature", 0},
                    {"ignore_eos", true}};
  {
    ServerProcess s({"-m", text_model, "--mmproj", mmproj, "-c", "1024", "-t", "1"});
    const json r = body_of(post_json(s.url("/v1/chat/completions"), req.dump()));
    CHECK(same_reply(gen.out, r["choices"][0]["message"]["content"].get<std::string>()));
    // The same prompt rows: text tokens and the image's 256 rows.
    CHECK_THAT(gen.err, Catch::Contains("prompt " + std::to_string(r["usage"]["prompt_tokens"].get<int>()) + " tokens"));
    CHECK(r["usage"]["prompt_tokens"].get<int>() > 256);
    // Streamed the same; the prompt shows the image as the media marker.
    json streamed = req;
    streamed["stream"] = true;
    CHECK(parse_sse(post_json(s.url("/v1/chat/completions"), streamed.dump()).body, true).text ==
          r["choices"][0]["message"]["content"].get<std::string>());
    CHECK_THAT(apply_template(s, req.dump()), Catch::Contains("Here is a picture: <__media__> What colors"));
    json bad = req;
    bad["messages"][0]["content"][1]["image_url"]["url"] = "https://example.com/cat.png";
    require_error(post_json(s.url("/v1/chat/completions"), bad.dump()), 400, "data URL");
    bad["messages"][0]["content"][1]["image_url"]["url"] = "data:image/png;base64,@@@";
    require_error(post_json(s.url("/v1/chat/completions"), bad.dump()), 400, "base64");
    bad["messages"][0]["content"][1]["image_url"]["url"] = "data:image/png;base64," + base64("not an image");
    require_error(post_json(s.url("/v1/chat/completions"), bad.dump()), 400, "image");
    REQUIRE(curl("GET", s.url("/health")).status == 200);
  }
  ServerProcess plain({"-m", text_model, "-c", "1024", "-t", "1"});
  require_error(post_json(plain.url("/v1/chat/completions"), req.dump()), 400, "--mmproj");
}

TEST_CASE("serve: tools and tool calls reach the template as llama-server passes them") {
  // OpenAI's shape: `tools`, and an assistant turn with content null and the
  // call's arguments as a JSON string, which llama-server parses into an
  // object for templates that read it as one (Qwen's `arguments | tojson`).
  const auto dir = source_dir() / "tests" / "jinja" / "tool_calls";
  const std::string conversation = read_text(dir / "conversation.json");
  const std::string tmpl = shared_path("chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja").string();
  ServerProcess s({"-m", stories(), "-c", "2048", "-t", "1", "--chat-template-file", tmpl});
  // The body as written (its key order is what the template prints).
  CHECK(apply_template(s, conversation) == read_text(dir / "Qwen-Qwen2.5-7B-Instruct.txt"));
  ojson conv = ojson::parse(conversation);
  ojson bad = conv;
  bad["messages"][2]["tool_calls"][0]["function"]["arguments"] = "{\"city\": Paris}";
  require_error(post_json(s.url("/apply-template"), bad.dump()), 400,
                "messages[2].tool_calls[0].function.arguments is not valid JSON");
  require_error(post_json(s.url("/v1/chat/completions"), bad.dump()), 400, "is not valid JSON");
  bad = conv;
  bad["tools"][0]["type"] = "retrieval";
  require_error(post_json(s.url("/apply-template"), bad.dump()), 400, "'tools[0].type'");
  bad["tools"] = "get_weather";
  require_error(post_json(s.url("/apply-template"), bad.dump()), 400, "'tools'");
  // A chat completion with tools runs (the reply is plain text: calls in it are not parsed out).
  ojson req = conv;
  req["max_tokens"] = 4;
  const HttpResult chat = post_json(s.url("/v1/chat/completions"), req.dump());
  INFO(chat.body);
  REQUIRE(chat.status == 200);

  // A built-in formatter can't show tools: refused, as llama-server refuses them without --jinja.
  ServerProcess builtin({"-m", stories(), "-c", "256", "-t", "1", "--chat-template", "chatml"});
  require_error(post_json(builtin.url("/apply-template"), conversation), 400, "'tools' needs a Jinja chat template");
}
