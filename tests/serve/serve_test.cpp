// `tessel serve` end to end, with curl on loopback: endpoints and their JSON
// shapes, streaming vs non-streaming, concurrency vs sequential runs, every
// bad-input answer, queue limits, client disconnects and SIGTERM draining.
// Generation uses stories260K; embeddings the synthetic gemma-embedding model.
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <functional>
#include <regex>
#include <thread>

#include "server_process.hpp"
#include "support.hpp"

using namespace tessel::test;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::string stories() { return shared_path("models/stories260K.gguf").string(); }

json body_json(const HttpResult& r) {
  INFO("body: " << r.body);
  return json::parse(r.body);
}

void require_error(const HttpResult& r, int status, const std::string& words) {
  INFO("status " << r.status << ", body: " << r.body);
  REQUIRE(r.status == status);
  const json j = json::parse(r.body);
  REQUIRE(j["error"]["code"] == status);
  REQUIRE(j["error"]["type"].is_string());
  REQUIRE_THAT(j["error"]["message"].get<std::string>(), Catch::Contains(words));
}

// A metric's value from /metrics.
double metric(const ServerProcess& s, const std::string& name) {
  const auto r = curl("GET", s.url("/metrics"));
  const auto at = r.body.find("\n" + name + " ");
  if (at == std::string::npos) FAIL("metric " << name << " missing: " << r.body);
  return std::stod(r.body.substr(at + name.size() + 2));
}

void wait_for(const std::function<bool()>& cond, const char* what) {
  for (int i = 0; i < 3000; ++i) {
    if (cond()) return;
    std::this_thread::sleep_for(20ms);
  }
  FAIL("timed out waiting for " << what);
}

std::string completion(const ServerProcess& s, const std::string& prompt, int n, double temp, int seed,
                       bool stream = false) {
  json req = {{"prompt", prompt}, {"max_tokens", n}, {"temperature", temp}, {"seed", seed}, {"stream", stream}};
  const auto r = post_json(s.url("/v1/completions"), req.dump());
  REQUIRE(r.status == 200);
  if (stream) return parse_sse(r.body, false).text;
  return body_json(r)["choices"][0]["text"].get<std::string>();
}

}  // namespace

TEST_CASE("serve: health, models, tokenize, detokenize, apply-template, metrics") {
  ServerProcess s({"-m", stories(), "-np", "2", "-c", "512", "-t", "1"});
  REQUIRE(curl("GET", s.url("/health")).status == 200);
  const json models = body_json(curl("GET", s.url("/v1/models")));
  REQUIRE(models["object"] == "list");
  REQUIRE(models["data"][0]["id"] == "stories260K.gguf");
  const json tok = body_json(post_json(s.url("/tokenize"), R"({"content":"Once upon a time"})"));
  REQUIRE(tok["tokens"].size() >= 3);
  const json detok = body_json(post_json(s.url("/detokenize"), json{{"tokens", tok["tokens"]}}.dump()));
  REQUIRE(detok["content"].get<std::string>().find("Once upon a time") != std::string::npos);
  const json with_bos = body_json(post_json(s.url("/tokenize"), R"({"content":"Once","add_special":true})"));
  REQUIRE(with_bos["tokens"].size() == body_json(post_json(s.url("/tokenize"), R"({"content":"Once"})"))["tokens"].size() + 1);
  const json tpl = body_json(post_json(s.url("/apply-template"), R"({"messages":[{"role":"user","content":"Hi"}]})"));
  REQUIRE_THAT(tpl["prompt"].get<std::string>(), Catch::Contains("Hi"));
  REQUIRE(metric(s, "tessel_slots_total") == 2);
  REQUIRE(metric(s, "tessel_ready") == 1);
  // One log line per request.
  REQUIRE_THAT(s.log(), Catch::Contains("POST /tokenize 200"));
}

TEST_CASE("serve: tessel run configs/serve-stories260k.yaml serves the same model") {
  const std::string config = (source_dir() / "configs" / "serve-stories260k.yaml").string();
  ServerProcess s({"run", config, "--set", "serve.port=0", "--set", "serve.slots=2", "--set", "runtime.threads=1"});
  REQUIRE(metric(s, "tessel_slots_total") == 2);
  REQUIRE(completion(s, "Once upon a time", 8, 0, 1).size() > 0);
  REQUIRE(s.terminate() == 0);
}

TEST_CASE("serve: a completion at temperature 0 equals tessel generate's text") {
  const std::string prompt = "Once upon a time";
  auto gen = run_tessel({"generate", "-m", stories(), "-p", prompt, "-n", "40", "--temp", "0", "-t", "1",
                         "--no-display-prompt"});
  REQUIRE(gen.exit_code == 0);
  if (!gen.out.empty() && gen.out.back() == '\n') gen.out.pop_back();  // generate ends stdout with a newline
  ServerProcess s({"-m", stories(), "-c", "256", "-t", "1"});
  const json r = body_json(post_json(s.url("/v1/completions"),
                                     json{{"prompt", prompt}, {"max_tokens", 40}, {"temperature", 0}}.dump()));
  REQUIRE(r["object"] == "text_completion");
  REQUIRE(r["choices"][0]["text"] == gen.out);
  REQUIRE(r["usage"]["completion_tokens"].get<int>() <= 40);
  REQUIRE(r["usage"]["total_tokens"] == r["usage"]["prompt_tokens"].get<int>() + r["usage"]["completion_tokens"].get<int>());
  REQUIRE((r["choices"][0]["finish_reason"] == "length" || r["choices"][0]["finish_reason"] == "stop"));
}

TEST_CASE("serve: chat and completion streams equal the non-streamed answers at temperature 0") {
  ServerProcess s({"-m", stories(), "-np", "2", "-c", "512", "-t", "1"});
  json chat = {{"messages", {{{"role", "system"}, {"content", "You tell stories."}},
                             {{"role", "user"}, {"content", "Tell me about a cat."}}}},
               {"max_tokens", 48}, {"temperature", 0}};
  const json plain = body_json(post_json(s.url("/v1/chat/completions"), chat.dump()));
  REQUIRE(plain["object"] == "chat.completion");
  REQUIRE(plain["choices"][0]["message"]["role"] == "assistant");
  const std::string text = plain["choices"][0]["message"]["content"];
  REQUIRE(!text.empty());
  chat["stream"] = true;
  chat["stream_options"] = {{"include_usage", true}};
  const auto streamed = post_json(s.url("/v1/chat/completions"), chat.dump());
  REQUIRE(streamed.status == 200);
  const StreamText st = parse_sse(streamed.body, true);
  REQUIRE(st.done);
  REQUIRE(st.text == text);
  REQUIRE(st.finish_reason == plain["choices"][0]["finish_reason"]);
  REQUIRE_THAT(streamed.body, Catch::Contains("\"usage\""));
  REQUIRE(streamed.body.substr(streamed.body.size() - 14) == "data: [DONE]\n\n");

  REQUIRE(completion(s, "The dog", 40, 0, 1, true) == completion(s, "The dog", 40, 0, 1, false));
  // A stop string ends the text before it.
  const std::string full = completion(s, "The dog", 40, 0, 1);
  REQUIRE(full.size() > 8);
  const std::string stop = full.substr(4, 3);
  const json stopped = body_json(post_json(s.url("/v1/completions"),
      json{{"prompt", "The dog"}, {"max_tokens", 40}, {"temperature", 0}, {"stop", stop}}.dump()));
  REQUIRE(stopped["choices"][0]["text"] == full.substr(0, full.find(stop)));
  REQUIRE(stopped["choices"][0]["finish_reason"] == "stop");
  // logprobs: one entry per token, the chosen token's logprob <= 0, alternatives sorted.
  const json lp = body_json(post_json(s.url("/v1/chat/completions"),
      json{{"messages", {{{"role", "user"}, {"content", "Hi"}}}}, {"max_tokens", 5}, {"temperature", 0},
           {"logprobs", true}, {"top_logprobs", 3}}.dump()));
  const auto& content = lp["choices"][0]["logprobs"]["content"];
  REQUIRE(content.size() == lp["usage"]["completion_tokens"].get<size_t>());
  REQUIRE(content[0]["logprob"].get<double>() <= 0.0);
  REQUIRE(content[0]["top_logprobs"].size() == 3);
  REQUIRE(content[0]["top_logprobs"][0]["logprob"] >= content[0]["top_logprobs"][1]["logprob"]);
}

TEST_CASE("serve: 8 concurrent clients get the texts of sequential runs") {
  ServerProcess s({"-m", stories(), "-np", "8", "-c", "2048", "-t", "2"});
  const std::vector<std::string> prompts = {"Once upon a time", "The little girl", "A big dog", "Tom and Sue",
                                            "One day", "The sun was", "Lily wanted", "There was a"};
  std::vector<std::string> alone(8), together(8);
  for (size_t i = 0; i < 8; ++i) alone[i] = completion(s, prompts[i], 48, 0.9, int(100 + i));
  std::vector<std::thread> clients;
  for (size_t i = 0; i < 8; ++i)
    clients.emplace_back([&, i] { together[i] = completion(s, prompts[i], 48, 0.9, int(100 + i), i % 2 == 1); });
  for (auto& t : clients) t.join();
  for (size_t i = 0; i < 8; ++i) {
    INFO("prompt " << i);
    REQUIRE(together[i] == alone[i]);
  }
  REQUIRE(metric(s, "tessel_forward_passes_total") > 0);
}

TEST_CASE("serve: bad input gets 400/404/413 in OpenAI's error shape and the server keeps serving") {
  ServerProcess s({"-m", stories(), "-c", "128", "-t", "1", "--max-body", "4096"});
  const auto chat = s.url("/v1/chat/completions"), comp = s.url("/v1/completions");
  require_error(post_json(chat, "{not json"), 400, "not valid JSON");
  require_error(post_json(chat, "[1,2]"), 400, "JSON object");
  require_error(post_json(chat, R"({"max_tokens":3})"), 400, "'messages'");
  require_error(post_json(chat, R"({"messages":"hi"})"), 400, "'messages'");
  require_error(post_json(chat, R"({"messages":[{"role":"wizard","content":"x"}]})"), 400, "messages[0].role");
  require_error(post_json(chat, R"({"messages":[{"role":"user","content":5}]})"), 400, "messages[0].content");
  require_error(post_json(chat, R"({"messages":[{"role":"user","content":"x"}],"temperature":"hot"})"), 400,
                "'temperature' must be a number");
  require_error(post_json(chat, R"({"messages":[{"role":"user","content":"x"}],"max_tokens":1.5})"), 400,
                "'max_tokens' must be an integer");
  require_error(post_json(chat, R"({"messages":[{"role":"user","content":"x"}],"top_p":7})"), 400, "'top_p' must be in 0..1");
  require_error(post_json(chat, R"({"messages":[{"role":"user","content":"x"}],"stream":"yes"})"), 400, "'stream'");
  require_error(post_json(chat, R"({"messages":[{"role":"user","content":"x"}],"stop":[1]})"), 400, "'stop'");
  require_error(post_json(chat, R"({"messages":[{"role":"user","content":"x"}],"n":2})"), 400, "'n'");
  require_error(post_json(comp, R"({"prompt":[1, -4]})"), 400, "token ids");
  require_error(post_json(comp, R"({"prompt":{"a":1}})"), 400, "'prompt'");
  std::string long_prompt;
  for (int i = 0; i < 100; ++i) long_prompt += "once upon a time ";
  require_error(post_json(comp, json{{"prompt", long_prompt}}.dump()), 400, "a slot's context holds 128");
  require_error(post_json(comp, R"({"prompt":"x","model":"gpt-9"})"), 404, "gpt-9");
  require_error(curl("GET", s.url("/v1/nothing")), 404, "/v1/nothing");
  // /metrics counts an unknown path as "other": no series per path a client makes up.
  wait_for([&] { return s.log().find("GET /v1/nothing 404") != std::string::npos; }, "the 404's log line");
  const std::string metrics = curl("GET", s.url("/metrics")).body;
  CHECK_THAT(metrics, Catch::Contains("tessel_requests_total{path=\"other\",status=\"404\"} 1"));
  CHECK_THAT(metrics, !Catch::Contains("/v1/nothing"));
  require_error(post_json(comp, json{{"prompt", std::string(5000, 'a')}}.dump()), 413, "larger than the limit");
  require_error(post_json(s.url("/v1/embeddings"), R"({"input":"x"})"), 400, "embedding model");
  require_error(post_json(s.url("/detokenize"), R"({"tokens":[99999999]})"), 400, "'tokens'");
  // Unknown fields are ignored; the named model is accepted.
  const auto ok = post_json(comp, R"({"prompt":"Once","max_tokens":4,"model":"stories260K.gguf","frobnicate":true})");
  REQUIRE(ok.status == 200);
  REQUIRE(curl("GET", s.url("/health")).status == 200);
}

// A 2 MB body of nested brackets inside a tool's parameters parsed fine
// (nlohmann parses without recursion) and then killed the server while it
// was copied and walked, one stack frame per level. Bodies nesting JSON
// deeper than 256 levels are refused before parsing; 256 still works.
TEST_CASE("serve: a request body nesting JSON a million levels deep gets 400, and the server stays up") {
  ServerProcess s({"-m", stories(), "-c", "128", "-t", "1"});
  const auto chat = s.url("/v1/chat/completions");
  auto with_parameters = [](int depth) {
    return R"({"messages":[{"role":"user","content":"x"}],"max_tokens":2,"tools":[{"type":"function",)"
           R"("function":{"name":"f","parameters":)" + std::string(size_t(depth), '[') + std::string(size_t(depth), ']') + "}}]}";
  };
  require_error(post_json(chat, with_parameters(1000000)), 400, "nests JSON deeper than 256 levels");
  require_error(post_json(chat, R"({"messages":[{"role":"user","content":"x","extra":)" + std::string(300, '[') +
                                    std::string(300, ']') + "}]}"),
                400, "deeper than 256");
  CHECK(post_json(chat, with_parameters(250)).status == 200);
  REQUIRE(curl("GET", s.url("/health")).status == 200);
}

namespace {
// The duration (ms) of the last log line "serve: ADDR METHOD PATH STATUS D ms"
// with this status, waiting for it (the line is written after the answer).
double logged_ms(const ServerProcess& s, int status, size_t after) {
  const std::regex line("serve: \\S+ \\S+ \\S+ " + std::to_string(status) + " ([0-9.]+) ms\n");
  double ms = -1;
  wait_for([&] {
    const std::string log = s.log().substr(after);
    for (std::sregex_iterator it(log.begin(), log.end(), line), end; it != end; ++it) ms = std::stod((*it)[1]);
    return ms >= 0;
  }, "the request's log line");
  return ms;
}
}  // namespace

TEST_CASE("serve: requests httplib refuses itself are logged with their own duration") {
  ServerProcess s({"-m", stories(), "-c", "128", "-t", "1", "--max-body", "4096"});
  // Earlier requests on the worker threads: the old log line reused the
  // previous request's start (or the clock's epoch on a fresh thread).
  for (int i = 0; i < 4; ++i) REQUIRE(curl("GET", s.url("/health")).status == 200);
  std::this_thread::sleep_for(500ms);
  struct Case {
    int status;
    std::function<HttpResult()> send;
  };
  const std::vector<Case> cases = {
      {400, [&] { return curl("BAD METHOD", s.url("/health")); }},                      // malformed request line
      {414, [&] { return curl("GET", s.url("/health?" + std::string(9000, 'q'))); }},  // URI over httplib's limit
      {413, [&] { return post_json(s.url("/v1/completions"), std::string(5000, ' ')); }},
  };
  for (const auto& c : cases) {
    INFO("status " << c.status);
    const size_t before = s.log().size();
    const auto t0 = std::chrono::steady_clock::now();
    const HttpResult r = c.send();
    const double client_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    REQUIRE(r.status == c.status);
    CHECK(body_json(r)["error"]["code"] == c.status);  // OpenAI's shape here too
    // The server can't have spent longer on it than the client waited for it.
    const double ms = logged_ms(s, c.status, before);
    CHECK(ms >= 0.0);
    CHECK(ms <= client_ms);
  }
  REQUIRE(curl("GET", s.url("/health")).status == 200);
}

TEST_CASE("serve: --api-key requires the bearer key, /health does not") {
  ServerProcess s({"-m", stories(), "-c", "128", "-t", "1", "--api-key", "sesame"});
  const std::string req = R"({"prompt":"Once","max_tokens":2})";
  require_error(post_json(s.url("/v1/completions"), req), 401, "missing API key");
  require_error(post_json(s.url("/v1/completions"), req, {"Authorization: Bearer nope"}), 401, "invalid API key");
  REQUIRE(post_json(s.url("/v1/completions"), req, {"Authorization: Bearer sesame"}).status == 200);
  REQUIRE(curl("GET", s.url("/health")).status == 200);
}

namespace {
// A request that keeps a slot busy for a while: no EOS, thousands of tokens
// (about a second in the release build, tens of seconds under ASan).
constexpr int kLongTokens = 2000;
std::string long_request(bool stream, int n = kLongTokens) {
  return json{{"prompt", "Once upon a time"}, {"max_tokens", n}, {"ignore_eos", true},
              {"temperature", 0}, {"stream", stream}}.dump();
}
}  // namespace

TEST_CASE("serve: a full queue answers 503 and the running request is unharmed") {
  ServerProcess s({"-m", stories(), "-np", "1", "--max-queue", "0", "-c", "8192", "-t", "1"});
  HttpResult first;
  // jthread: a failed REQUIRE below unwinds through a join, not std::terminate.
  std::jthread t([&] {
    first = curl("POST", s.url("/v1/completions"), long_request(false), {"Content-Type: application/json"}, 300);
  });
  wait_for([&] { return metric(s, "tessel_slots_busy") == 1; }, "the slot to be busy");
  require_error(post_json(s.url("/v1/completions"), R"({"prompt":"x","max_tokens":2})"), 503, "queue is full");
  t.join();
  REQUIRE(first.status == 200);
  REQUIRE(body_json(first)["usage"]["completion_tokens"] == kLongTokens);
}

TEST_CASE("serve: a client that disconnects mid-stream frees its slot") {
  ServerProcess s({"-m", stories(), "-np", "1", "-c", "32768", "-t", "1"});
  // curl gives up after 1 s, long before 30000 tokens are streamed.
  const auto cut = curl("POST", s.url("/v1/completions"), long_request(true, 30000), {"Content-Type: application/json"}, 1);
  (void)cut;
  wait_for([&] { return metric(s, "tessel_slots_busy") == 0 && metric(s, "tessel_generations_total") == 1; },
           "the cancelled request to leave its slot");
  REQUIRE(metric(s, "tessel_generated_tokens_total") < 30000);
  REQUIRE(completion(s, "Once", 4, 0, 1).size() > 0);
}

TEST_CASE("serve: a client that disconnects before a non-streamed answer frees its slot") {
  ServerProcess s({"-m", stories(), "-np", "1", "-c", "32768", "-t", "1"});
  const auto cut = curl("POST", s.url("/v1/completions"), long_request(false, 30000), {"Content-Type: application/json"}, 1);
  REQUIRE(cut.status == 0);  // curl gave up: no answer yet
  wait_for([&] { return metric(s, "tessel_slots_busy") == 0 && metric(s, "tessel_generations_total") == 1; },
           "the cancelled request to leave its slot");
  REQUIRE(metric(s, "tessel_generated_tokens_total") < 30000);
  REQUIRE(completion(s, "Once", 4, 0, 1).size() > 0);
}

TEST_CASE("serve: SIGTERM lets in-flight requests finish, then exits 0") {
  ServerProcess s({"-m", stories(), "-np", "2", "-c", "8192", "-t", "1"});
  HttpResult a, b;
  const std::vector<std::string> json_type = {"Content-Type: application/json"};
  std::jthread ta([&] { a = curl("POST", s.url("/v1/completions"), long_request(true), json_type, 600); });
  std::jthread tb([&] { b = curl("POST", s.url("/v1/completions"), long_request(false), json_type, 600); });
  wait_for([&] { return metric(s, "tessel_slots_busy") == 2; }, "both slots to be busy");
  REQUIRE(s.terminate(600) == 0);
  ta.join();
  tb.join();
  REQUIRE(a.status == 200);
  const StreamText st = parse_sse(a.body, false);
  REQUIRE(st.done);
  REQUIRE(st.finish_reason == "length");
  REQUIRE(b.status == 200);
  REQUIRE(body_json(b)["usage"]["completion_tokens"] == kLongTokens);
  REQUIRE(curl("GET", s.url("/health"), "", {}, 5).status == 0);  // nobody listens any more
}

TEST_CASE("serve: embeddings equal tessel embed's output") {
  const std::string model = shared_path("golden/models/gemma-embedding-synth.gguf").string();
  const std::vector<std::string> texts = {"hello world", "the quick brown fox"};
  const auto cli = run_tessel({"embed", "-m", model, "-p", texts[0], "-p", texts[1], "-t", "1"});
  REQUIRE(cli.exit_code == 0);
  std::vector<std::vector<float>> want;
  std::istringstream lines(cli.out);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) want.push_back(json::parse(line)["embedding"].get<std::vector<float>>());
  REQUIRE(want.size() == 2);

  ServerProcess s({"-m", model, "-t", "1"});
  require_error(post_json(s.url("/v1/embeddings"), json{{"input", texts}, {"model", "x"}}.dump()), 404, "'x'");
  const json ok = body_json(post_json(s.url("/v1/embeddings"), json{{"input", texts}}.dump()));
  REQUIRE(ok["object"] == "list");
  REQUIRE(ok["data"].size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    const auto got = ok["data"][i]["embedding"].get<std::vector<float>>();
    REQUIRE(ok["data"][i]["index"] == i);
    REQUIRE(got.size() == want[i].size());
    REQUIRE(max_abs_diff(got.data(), want[i].data(), got.size()) < 1e-6f);
  }
  // One string, base64, Matryoshka dimensions.
  const json b64 = body_json(post_json(s.url("/v1/embeddings"),
                                       json{{"input", texts[0]}, {"encoding_format", "base64"}}.dump()));
  REQUIRE(b64["data"][0]["embedding"].get<std::string>().size() == (want[0].size() * 4 + 2) / 3 * 4);
  const json small = body_json(post_json(s.url("/v1/embeddings"), json{{"input", texts[0]}, {"dimensions", 8}}.dump()));
  const auto v = small["data"][0]["embedding"].get<std::vector<float>>();
  REQUIRE(v.size() == 8);
  double norm = 0;
  for (float x : v) norm += double(x) * x;
  REQUIRE(norm == Approx(1.0).epsilon(1e-5));
  require_error(post_json(s.url("/v1/embeddings"), R"({"input":"x","encoding_format":"hex"})"), 400, "encoding_format");
  require_error(post_json(s.url("/v1/embeddings"), R"({"input":"x","dimensions":0})"), 400, "'dimensions'");
  require_error(post_json(s.url("/v1/chat/completions"), R"({"messages":[{"role":"user","content":"x"}]})"), 400,
                "embeddings only");
}
