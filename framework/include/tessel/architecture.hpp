#pragma once
// Plugin kind "architecture": builds a runnable Model from a ModelFile.
// Models compose the core kernels (tessel/kernels.hpp); they don't write
// their own loops for matmul, norms, rope, softmax or attention.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tessel/codec.hpp"
#include "tessel/plugin.hpp"
#include "tessel/tensor.hpp"
#include "tessel/types.hpp"

namespace tessel {

struct RuntimeOptions {
  int threads = 0;          // 0: all cores
  int n_ctx = 0;            // 0: min(n_ctx_train, 4096)
  // Rows per forward() call: the prompt decoder (decode_prompt) and the
  // Embedder split their work into batches of at most this many rows; a
  // model runs whatever batch it is given.
  int n_batch = 512;
  bool kv_f16 = true;       // llama.cpp's default KV cache type
  bool flash_attn = false;  // llama.cpp's flash-attention numerics (F16 V·P accumulation)
  int n_seq = 1;            // parallel sequences (server slots): each gets n_ctx / n_seq KV cells
};

struct HParams {
  std::string arch;
  int64_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0;
  int64_t head_dim = 0, n_ff = 0, n_ctx_train = 0;
  int64_t n_embd_out = 0;           // width after pooled_head (dense heads); n_embd if none
  bool causal = true;               // false for embedding encoders
  bool has_logits = true;           // false for encoders without an LM head
  std::string pooling = "none";     // none | mean | cls | last | rank (from metadata)
};

// Rows for one forward() call: token ids or raw embedding rows, never both.
struct Batch {
  std::vector<TokenId> tokens;   // n rows, or empty when `embd` is used
  std::vector<float> embd;       // [n, n_embd] raw rows (llama_batch.embd), or empty
  std::vector<int32_t> pos;      // n
  std::vector<int32_t> seq;      // n: sequence id of each row
  std::vector<uint8_t> output;   // n: 1 where this row's outputs are wanted
  bool causal = true;            // false: rows attend both ways (mtmd image chunk)

  size_t size() const { return pos.size(); }
  void add_token(TokenId t, int32_t p, int32_t s, bool out) {
    tokens.push_back(t); pos.push_back(p); seq.push_back(s); output.push_back(out ? 1 : 0);
  }
};

// Receives every intermediate tensor of a forward pass, named as llama.cpp's
// graph names them (attn_norm-0, Qcur-0, ...). `ne` is in ggml order.
class TensorSink {
 public:
  virtual ~TensorSink() = default;
  virtual void on_tensor(const std::string& name, const float* data,
                         std::span<const int64_t> ne) = 0;
};

struct Outputs {
  bool want_logits = true;
  bool want_hidden = false;      // final-norm hidden states, before pooling
  std::vector<int32_t> rows;     // batch row of each output row
  std::vector<float> logits;     // [rows.size(), n_vocab]
  std::vector<float> hidden;     // [rows.size(), n_embd]
  TensorSink* sink = nullptr;    // set to dump intermediates (slow path)
};

// Per-session state: KV cache, scratch buffers.
class Context {
 public:
  virtual ~Context() = default;
  virtual void clear() = 0;                 // forget every sequence
  virtual int32_t n_ctx() const = 0;
  virtual int32_t n_past(int32_t seq) const = 0;  // next free position of `seq`
  // Forgets one sequence (a finished server slot); its cache cells are reused.
  // Contexts that keep nothing between passes have nothing to forget.
  virtual void remove_seq(int32_t seq) { (void)seq; }
  // Forgets the cells of `seq` at positions >= from_pos, so the sequence goes
  // on from there (a chat dropping its last reply to generate it again).
  virtual void truncate_seq(int32_t seq, int32_t from_pos) {
    (void)seq;
    (void)from_pos;
  }
};

class Model {
 public:
  virtual ~Model() = default;
  virtual const HParams& hparams() const = 0;
  // A model that runs text batches overrides these three; the defaults throw
  // naming the architecture (a vision projector has none of them).
  virtual std::unique_ptr<Context> new_context(const RuntimeOptions& opts) const;
  // Throws tessel::Error when the batch does not fit the context, a token id
  // is out of range or the embedding width is wrong.
  virtual void forward(const Batch& batch, Context& ctx, Outputs& out);
  // The token-embedding lookup as raw rows [ids.size(), n_embd], without any
  // architecture input scaling (feeding them back via Batch::embd must be
  // equivalent to feeding the tokens, as llama.cpp's batch.embd is).
  virtual void embed_tokens(std::span<const TokenId> ids, float* rows) const;
  // Heads applied after pooling (EmbeddingGemma's dense_2/dense_3, a
  // reranker's classifier): [n_rows, n_embd] -> [n_rows, n_embd_out], run on
  // the context's threads. Default: identity.
  virtual void pooled_head(std::span<const float> in, size_t n_rows, std::vector<float>& out,
                           Context& ctx) const {
    out.assign(in.begin(), in.end());
    (void)n_rows;
    (void)ctx;
  }
  // The text a task prepends to every input (EmbeddingGemma's "query",
  // "document"...). Default: the model has no task prompts; throws naming
  // the task and the architecture.
  virtual std::string task_prompt(const std::string& task) const;
};

// ------------------------------------------------------------------ synth --
// `tessel synth`: a random-weight model of an architecture at a real shape
// (benchmarks) or an unusual one (tests). The architecture plugin describes
// its presets, metadata and tensor list; the core draws the values and
// writes the file.

struct SynthShape {
  int64_t n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, head_dim = 0, n_ff = 0;
  int64_t n_vocab = 0, n_ctx = 0;
  bool tied = false;  // output head tied to token_embd (no output.weight)
};

struct SynthPreset {
  std::string name;     // "tinyllama-1.1b"
  std::string arch;     // general.architecture of the file
  std::string summary{};  // one line for --help
  SynthShape shape{};
  std::string variant{};  // free for the plugin ("llama3": rope_freqs and base 5e5)
};

struct SynthTensor {
  enum class Fill { matrix, norm, zero, bias };  // ~N(0, 1/fan_in), ~1, 0, small
  std::string name;
  std::vector<int64_t> ne;  // ggml order
  Fill fill = Fill::matrix;
};

struct SynthRecipe {
  Metadata meta;                    // architecture keys and a valid tokenizer
  std::vector<SynthTensor> tensors; // in file order (each draws its own seeded stream)
};

class Architecture : public PluginObject {
 public:
  // Throws tessel::Error naming the file and the missing/mis-shaped tensor or key.
  virtual std::unique_ptr<Model> load(const ModelFile& file, const CodecSet& codecs,
                                      const RuntimeOptions& opts) const = 0;
  // The shapes `tessel synth --preset` offers for this architecture (may be none).
  virtual std::vector<SynthPreset> synth_presets() const { return {}; }
  // What to write for a preset (possibly reshaped by --shape). Throws
  // tessel::Error when the shape can't be built. Default: no recipe.
  virtual SynthRecipe synth_recipe(const SynthPreset& p) const;
};

}  // namespace tessel
