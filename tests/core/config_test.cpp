#include <catch2/catch.hpp>

#include "tessel/config.hpp"
#include "tessel/error.hpp"

using Catch::Matchers::Contains;
using tessel::parse_pipeline;

static const char* kGood = R"(task: generate
model:
  path: /models/x.gguf
inputs:
  - { adapter: tokens, text: "Once upon a time" }
  - adapter: tokens
    ids: [1, 2, 3]
  - { adapter: embeddings, file: rows.bin, params: { shape: "5,64", scale: 8 } }
runtime: { threads: 2, context: 256, batch: 64 }
generate:
  max_tokens: 16
  stop: ["\n\n"]
  sampler: { temperature: 0.5, top_k: 10, seed: 7 }
embed: { pooling: mean, normalize: 2, output: json }
plugins: { path: [/opt/p1, /opt/p2] }
)";

TEST_CASE("a full config loads into a PipelineSpec") {
  auto s = parse_pipeline(kGood, "good.yaml");
  CHECK(s.task == "generate");
  CHECK(s.model.path == "/models/x.gguf");
  REQUIRE(s.inputs.size() == 3);
  CHECK(s.inputs[2].params.at("shape") == "5,64");
  CHECK(s.inputs[2].params.at("scale") == "8");
  CHECK(s.inputs[0].adapter == "tokens");
  CHECK(s.inputs[0].text == "Once upon a time");
  CHECK(s.inputs[1].ids == std::vector<int32_t>{1, 2, 3});
  CHECK(s.runtime.threads == 2);
  CHECK(s.runtime.n_ctx == 256);
  CHECK(s.runtime.n_batch == 64);
  CHECK(s.generate.max_tokens == 16);
  CHECK(s.generate.stop == std::vector<std::string>{"\n\n"});
  CHECK(s.generate.sampler.temperature == Approx(0.5));
  CHECK(s.generate.sampler.top_k == 10);
  CHECK(s.generate.sampler.seed == 7);
  CHECK(s.embed.pooling == "mean");
  CHECK(s.embed.output == "json");
  CHECK(s.plugin_paths.size() == 2);
}

TEST_CASE("an unknown key names file:line:column and the key") {
  std::string y = "model: { path: a.gguf }\nruntime:\n  threads: 2\n  treads: 3\n";
  REQUIRE_THROWS_WITH(parse_pipeline(y, "c.yaml"),
                      Contains("c.yaml:4:3: 'runtime.treads' is not a known key") && Contains("threads"));
}

TEST_CASE("a wrong type names file:line:column and the key") {
  std::string y = "model: { path: a.gguf }\ngenerate:\n  max_tokens: lots\n";
  REQUIRE_THROWS_WITH(parse_pipeline(y, "c.yaml"),
                      Contains("c.yaml:3:15: 'generate.max_tokens' must be an integer, got 'lots'"));
  std::string y2 = "model: { path: a.gguf }\ninputs: { adapter: tokens }\n";
  REQUIRE_THROWS_WITH(parse_pipeline(y2, "c.yaml"), Contains("'inputs' must be a list"));
}

TEST_CASE("a missing required key is named") {
  REQUIRE_THROWS_WITH(parse_pipeline("task: generate\n", "c.yaml"), Contains("c.yaml: 'model' is required"));
  REQUIRE_THROWS_WITH(parse_pipeline("model: { format: gguf }\n", "c.yaml"),
                      Contains("c.yaml:1:8: 'model.path' is required"));
  REQUIRE_THROWS_WITH(parse_pipeline("model: a.gguf\ninputs:\n  - { text: hi }\n", "c.yaml"),
                      Contains("'inputs[0].adapter' is required"));
}

TEST_CASE("an enum value outside its set is named with the choices") {
  REQUIRE_THROWS_WITH(parse_pipeline("model: a.gguf\ntask: dance\n", "c.yaml"),
                      Contains("c.yaml:2:7: 'task' is 'dance', expected generate | embed | score"));
}

TEST_CASE("invalid YAML reports its position") {
  REQUIRE_THROWS_WITH(parse_pipeline("model: [unclosed\n", "bad.yaml"), Contains("bad.yaml:") && Contains("invalid YAML"));
}

TEST_CASE("${VAR} is expanded from the environment") {
  setenv("TESSEL_TEST_DIR", "/data", 1);
  auto s = parse_pipeline("model: ${TESSEL_TEST_DIR}/m.gguf\n", "c.yaml");
  CHECK(s.model.path == "/data/m.gguf");
  unsetenv("TESSEL_TEST_DIR");
  REQUIRE_THROWS_WITH(parse_pipeline("model: ${TESSEL_TEST_DIR}/m.gguf\n", "c.yaml"),
                      Contains("'model' uses ${TESSEL_TEST_DIR}, which is not set"));
}

TEST_CASE("TESSEL_SHARED falls back to the repo's ../shared") {
  const char* old = std::getenv("TESSEL_SHARED");
  std::string saved = old ? old : "";
  unsetenv("TESSEL_SHARED");
  auto s = parse_pipeline("model: ${TESSEL_SHARED}/models/m.gguf\n", "c.yaml");
  CHECK_THAT(s.model.path.string(), Contains("shared/models/m.gguf"));
  if (old) setenv("TESSEL_SHARED", saved.c_str(), 1);
}

TEST_CASE("set overrides change values including nested and new keys") {
  auto s = parse_pipeline(kGood, "good.yaml",
                          {"generate.sampler.temperature=0", "runtime.threads=1", "generate.stop=[a, b]",
                           "embed.dims=128"});
  CHECK(s.generate.sampler.temperature == 0);
  CHECK(s.runtime.threads == 1);
  CHECK(s.generate.stop == std::vector<std::string>{"a", "b"});
  CHECK(s.embed.dims == 128);
}

TEST_CASE("a bad override is named as the flag") {
  REQUIRE_THROWS_WITH(parse_pipeline(kGood, "good.yaml", {"runtime.threads=abc"}),
                      Contains("--set runtime.threads") && Contains("must be an integer"));
  REQUIRE_THROWS_WITH(parse_pipeline(kGood, "good.yaml", {"runtime.thread=1"}),
                      Contains("--set runtime.thread") && Contains("is not a known key"));
  REQUIRE_THROWS_WITH(parse_pipeline(kGood, "good.yaml", {"novalue"}), Contains("expected key.sub=value"));
}

TEST_CASE("run_task names the tasks it knows") {
  auto s = parse_pipeline("model: a.gguf\ntask: embed\n", "c.yaml");
  s.task = "nonexistent";
  REQUIRE_THROWS_WITH(tessel::run_task(s), Contains("task 'nonexistent' is not available"));
}
