#pragma once
// The pipeline config (configs/*.yaml) as a validated struct. Every shorthand
// subcommand (generate, embed, logits...) builds the same PipelineSpec from
// flags, so `tessel run CONFIG` and the shorthand run the same code.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tessel/architecture.hpp"
#include "tessel/input.hpp"

namespace tessel {

struct SamplerSpec {
  float temperature = 0.8f;   // <= 0: greedy
  int top_k = 40;             // <= 0: off
  float top_p = 0.95f;        // 1: off
  float min_p = 0.05f;        // 0: off
  float typical_p = 1.0f;     // 1: off
  float repeat_penalty = 1.0f;
  int repeat_last_n = 64;
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  uint64_t seed = 42;
};

struct GenerateSpec {
  int max_tokens = 128;
  std::string chat_template = "auto";   // auto (the model's Jinja template, else chatml) | jinja | none | any llama.cpp built-in name (chatml, llama3, phi4, ...)
  std::string chat_template_file;       // a Jinja template file, used instead of the model's
  bool chat = false;                    // wrap the text inputs as one user turn
  std::string system;                   // optional system message in chat mode
  std::vector<std::string> stop;        // extra stop strings
  bool ignore_eos = false;
  bool display_prompt = true;           // echo the prompt text before the continuation (llama.cpp's default)
  SamplerSpec sampler;
};

struct EmbedSpec {
  std::string pooling = "auto";         // auto | none | mean | cls | last | rank
  int normalize = 2;                    // -1 none, 0 max-abs int16, 1 taxicab, 2 euclid, >2 p-norm
  std::string output = "jsonl";         // json | json+ | array | raw | jsonl | npy | txt | text
  std::string out_path;                 // empty: stdout (npy needs a path)
  int dims = 0;                         // Matryoshka truncation; 0 keeps all
  std::string task;                     // the model's task prompt (Model::task_prompt) goes first
  std::string prefix;                   // text prepended to every text (after the task prompt)
  bool truncate = false;                // cut token texts to fit (as sentence-transformers), not an error
};

struct ServeSpec {
  std::string host = "127.0.0.1";       // loopback unless asked otherwise
  int port = 8080;                      // 0: any free port (printed on stderr)
  int slots = 1;                        // parallel sequences (-np); runtime.context is split among them
  std::string api_key;                  // empty: no key needed
  std::filesystem::path chat_template_file;  // Jinja/llama.cpp template source instead of the model's
  std::string alias;                    // the model's id in /v1/models; empty: the file name
  int max_queue = 64;                   // requests waiting for a slot; more get 503
  int64_t max_body = 16 << 20;          // bytes; larger bodies get 413
};

struct ModelSpec {
  std::filesystem::path path;
  std::string format = "auto";
  std::filesystem::path mmproj;         // multimodal projector, if any
  std::string quantize;                 // llama-quantize preset applied at load (Q8_0, Q4_K_M...); empty: none
};

struct PipelineSpec {
  std::string source;                   // config file path, or "command line"
  std::string task = "generate";        // generate | embed | score | serve
  ModelSpec model;
  std::string architecture = "auto";
  std::string tokenizer = "auto";
  std::vector<InputSegment> inputs;
  RuntimeOptions runtime;
  GenerateSpec generate;
  EmbedSpec embed;
  ServeSpec serve;
  std::vector<std::filesystem::path> plugin_paths;
  std::filesystem::path output;         // score: where logits go (.npy)
};

// Loads and validates a YAML pipeline. Unknown keys, wrong types and missing
// required keys throw tessel::Error naming file:line:column and the key.
// `${VAR}` is expanded from the environment (TESSEL_SHARED defaults to the
// repo's ../shared). Each override is "a.b=value", applied before validation.
PipelineSpec load_pipeline(const std::filesystem::path& file,
                           const std::vector<std::string>& overrides = {});
PipelineSpec parse_pipeline(const std::string& yaml_text, const std::string& source,
                            const std::vector<std::string>& overrides = {});

// Tasks register themselves (a static TaskRegistration in their .cpp).
using TaskFn = int (*)(const PipelineSpec&);
struct TaskRegistration {
  TaskRegistration(const char* name, TaskFn fn);
};
// The largest context or batch any config may ask for (2^24 tokens).
inline constexpr int kMaxContext = 1 << 24;
// Throws tessel::Error naming the key and flag when threads, context or batch
// are out of range (run_task calls it: flags and configs both pass here).
void check_runtime(const PipelineSpec& spec);
// Runs spec.task; throws naming the known tasks when it is not registered.
int run_task(const PipelineSpec& spec);
std::vector<std::string> task_names();

// TESSEL_SHARED, or <source dir>/../shared when unset.
std::string shared_dir_default();

}  // namespace tessel
