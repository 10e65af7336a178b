#pragma once
// tessel's small, stable C++ API for programs: load a model (from a pipeline
// YAML or a GGUF path), generate text with a streaming callback and stop
// strings, run chat turns, embed a list of texts. Everything else under
// tessel/ is the plugin interface and may change between minor versions;
// this header changes only compatibly within a major version.
//
//   #include <tessel/api.hpp>
//   tessel::Session s = tessel::Session::from_model("stories260K.gguf");
//   tessel::GenerateOptions g;
//   g.max_tokens = 32;
//   s.generate("Once upon a time", g, [](std::string_view piece) { std::cout << piece; });
//
// Build with find_package(tessel) -> tessel::tessel, or pkg-config tessel.
// Errors are thrown as tessel::Error (tessel/error.hpp) with a one-line message.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tessel/error.hpp"

namespace tessel {

struct SessionOptions {
  int threads = 0;        // 0: all cores
  int context = 0;        // 0: the model's training context, at most 4096
  int batch = 512;        // prompt tokens per forward pass
  std::vector<std::filesystem::path> plugin_paths;  // searched besides the installed plugins
};

struct GenerateOptions {
  int max_tokens = 128;              // -1: until end of generation or a full context
  float temperature = 0.8f;          // <= 0: greedy
  int top_k = 40;
  float top_p = 0.95f;
  float min_p = 0.05f;
  float repeat_penalty = 1.0f;
  int64_t seed = -1;                 // -1: random
  std::vector<std::string> stop;     // generation ends before any of these (not returned)
  bool ignore_eos = false;
};

struct Message {
  std::string role;     // system | user | assistant
  std::string content;
};

struct EmbedOptions {
  std::string pooling = "auto";      // auto (the model's) | none | mean | cls | last
  int normalize = 2;                 // -1 none, 0 max-abs, 1 taxicab, 2 euclidean, >2 p-norm
  int dims = 0;                      // keep the first N values (Matryoshka), 0: all
  bool truncate = false;             // cut texts longer than the context instead of failing
};

// Called with each piece of text as it is generated (whole UTF-8 characters).
using TextCallback = std::function<void(std::string_view piece)>;

class Session {
 public:
  // A model file with default settings (tokenizer and architecture from its metadata).
  static Session from_model(const std::filesystem::path& model, const SessionOptions& options = {});
  // A pipeline config (configs/*.yaml); `overrides` are `key.sub=value` as with --set.
  // Its generate/embed sections become the defaults of the calls below.
  static Session from_yaml(const std::filesystem::path& config, const std::vector<std::string>& overrides = {});

  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  ~Session();

  // Continues `prompt` (special-token text such as <s> is parsed, BOS added as
  // the model asks); returns the generated text, also streamed to `on_text`.
  std::string generate(const std::string& prompt, const GenerateOptions& options = {},
                       const TextCallback& on_text = {});
  // Generation options taken from the config (from_yaml), or the defaults.
  GenerateOptions default_generate_options() const;

  // The assistant's reply to `messages`, formatted with the model's chat
  // template (or `chat_template`: auto, or a llama.cpp built-in name). Append
  // the reply as {"assistant", reply} and the next user turn to continue.
  std::string chat(const std::vector<Message>& messages, const GenerateOptions& options = {},
                   const TextCallback& on_text = {}, const std::string& chat_template = "auto");

  // One embedding per text (pooling none: the token rows one after another).
  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts, const EmbedOptions& options = {});
  EmbedOptions default_embed_options() const;

  // Token ids of `text` as generate() feeds them.
  std::vector<int32_t> tokenize(const std::string& text, bool add_special = true) const;
  // The model's architecture name (general.architecture), e.g. "llama".
  std::string architecture() const;

 private:
  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "0.1.0"
std::string version();

}  // namespace tessel
