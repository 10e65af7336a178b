#pragma once
// Plugin kind "input": turns one input segment (text, ids, embedding rows,
// an image) into batch chunks: token ids or embedding rows of width n_embd,
// never both in one chunk. Chunks are decoded in order into one KV cache.
#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tessel/architecture.hpp"
#include "tessel/plugin.hpp"
#include "tessel/tokenizer.hpp"

namespace tessel {

class Registry;

struct InputSegment {
  std::string adapter;                        // "tokens" | "embeddings" | "image" ...
  std::string text;                           // tokens: text to tokenize
  std::vector<TokenId> ids;                   // tokens: explicit ids
  std::filesystem::path file;                 // embeddings/image: a file
  std::map<std::string, std::string> params;  // adapter-specific options
};

struct AdapterContext {
  const ModelFile* model_file = nullptr;
  const Model* model = nullptr;
  const Tokenizer* tokenizer = nullptr;
  Registry* registry = nullptr;   // to load further plugins (e.g. the mmproj's)
  int threads = 0;                // runtime.threads, for models an adapter runs (vision encoders)
  bool first_segment = true;      // add BOS only at the very start
  bool add_special = true;
  bool parse_special = true;      // as llama.cpp's tools tokenize prompts
};

struct BatchChunk {
  std::vector<TokenId> tokens;  // either tokens ...
  std::vector<float> embd;      // ... or rows [n_rows, n_embd]
  size_t n_rows = 0;
  bool causal = true;           // false: decode rows non-causally (mtmd image chunk)
};

class InputAdapter : public PluginObject {
 public:
  virtual std::vector<BatchChunk> adapt(const InputSegment& seg, const AdapterContext& ctx) const = 0;
};

// Adapters call this first: a parameter they don't read (a typo like "scal")
// is an error naming it and the known ones, not silently ignored.
void check_params(const InputSegment& seg, std::initializer_list<const char*> known);

}  // namespace tessel
