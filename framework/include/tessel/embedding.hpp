#pragma once
// Text embeddings as llama.cpp's llama-embedding computes them: many texts
// packed into one forward pass (one sequence each), pooled per sequence
// (none | mean | cls | last | rank), the model's pooled head (EmbeddingGemma's
// dense_2/dense_3), optional Matryoshka truncation, then --embd-normalize.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "tessel/architecture.hpp"
#include "tessel/config.hpp"
#include "tessel/kernels.hpp"
#include "tessel/threadpool.hpp"
#include "tessel/tokenizer.hpp"

namespace tessel::embed {

// ------------------------------------------------------------ pooling --

enum class Pooling { none, mean, cls, last, rank };

// "none" | "mean" | "cls" | "last" | "rank"; throws naming the value otherwise.
Pooling parse_pooling(const std::string& name);
const char* pooling_name(Pooling p);
// "auto" takes the model's pooling (HParams::pooling, from <arch>.pooling_type).
Pooling resolve_pooling(const std::string& requested, const HParams& hp);

// The rows of one sequence [n_rows, n] -> one row [n] (mean: average; cls:
// first row; last: last row; rank: first row, the model's head scores it).
void pool_rows(const float* rows, int64_t n_rows, int64_t n, Pooling p, float* out);

// ------------------------------------------------------- normalization --

// llama.cpp's common_embd_normalize: -1 none, 0 max-abs scaled to the int16
// range (32760), 1 taxicab, 2 euclidean, > 2 p-norm. A zero vector stays zero.
void normalize(const float* in, float* out, int64_t n, int mode);
// common_embd_similarity_cos (1 when both are zero, 0 when one is).
float cosine_similarity(const float* a, const float* b, int64_t n);

// ------------------------------------------------------------ embedder --

struct Options {
  Pooling pooling = Pooling::mean;
  int normalize = 2;
  int dims = 0;          // Matryoshka: keep the first `dims` values, then normalize; 0 keeps all
  int n_batch = 512;     // tokens per forward pass (several texts share one)
};

// One input: token ids, or raw embedding rows [n_rows, n_embd] (Batch::embd).
struct Input {
  std::vector<TokenId> tokens;
  std::vector<float> embd;
};

// One input's result: [rows, cols] (rows = 1 when pooled, n_tokens with pooling none).
struct Result {
  int64_t rows = 0, cols = 0;
  std::vector<float> data;
};

class Embedder {
 public:
  Embedder(Model& model, const RuntimeOptions& runtime, Options opts);
  ~Embedder();
  // Packs consecutive inputs into batches of at most n_batch rows (an input
  // never spans two batches: attention is bidirectional), one sequence each.
  // Throws tessel::Error when one input alone exceeds n_batch or is empty.
  // progress(done, total) is called after every forward pass.
  std::vector<Result> embed(const std::vector<Input>& inputs,
                            const std::function<void(size_t, size_t)>& progress = {});
  int64_t width() const;  // values per output row (after the head and --dims)
  // The most rows one input may have: the batch size, at most the context.
  size_t max_rows() const;
  const Options& options() const { return opts_; }

 private:
  void run_batch(const std::vector<Input>& inputs, size_t first, size_t count,
                 std::vector<Result>& results);
  Model& model_;
  Options opts_;
  std::unique_ptr<Context> ctx_;
};

// --------------------------------------------------------------- output --

// llama-embedding's --embd-output-format json text: every row an entry
// {"object":"embedding","index":i,"embedding":[...]}, %1.7f (normalize 0: %1.0f).
// `similarity` (json+) appends llama-embedding's "cosineSimilarity" matrix when
// there are two rows or more.
std::string format_json(const std::vector<Result>& results, int normalize, bool similarity = false);
// llama-embedding's "array": [[...],[...]] on one line, same number format.
std::string format_array(const std::vector<Result>& results, int normalize);
// llama-embedding's "raw": one row per line, values separated by single spaces.
std::string format_raw(const std::vector<Result>& results, int normalize);
// One JSON object per input: {"index":i,"text":...,"embedding":[...]} (pooling
// none: "embedding" is a list of rows); "text" only when `texts` has it.
std::string format_jsonl(const std::vector<Result>& results, const std::vector<std::string>& texts);
// One line per row, values separated by spaces.
std::string format_txt(const std::vector<Result>& results);
// llama-embedding's default display (its --embd-output-format ''): "embedding
// N: ..." lines, then the cosine similarity matrix for several texts.
std::string format_text(const std::vector<Result>& results, const std::vector<std::string>& texts, int normalize);
// json | json+ | array | raw | jsonl | npy | txt | text to `path` (atomic), or stdout when path is empty
// (npy needs a path). npy: [n_rows_total, cols] float32.
void write_results(const std::vector<Result>& results, const std::vector<std::string>& texts,
                   const EmbedSpec& spec);

// Runs the embed task's input side (tokenize every text of spec.inputs with the
// prefix, or take ids / embedding rows) and the Embedder; returns one result
// per text plus the texts. Shared by the task and `tessel similarity`.
struct Run {
  std::vector<std::string> texts;
  std::vector<Result> results;
  Pooling pooling = Pooling::mean;
  // Where the time went, as llama-embedding reports it apart: opening and
  // building the model plus packing its weights (done on first use, so
  // measured during the first batch and moved here), tokenizing, and the
  // forward passes over n_rows input rows.
  double load_ms = 0, pack_ms = 0, tokenize_ms = 0, embed_ms = 0;
  size_t n_rows = 0;
};
Run run_embeddings(const PipelineSpec& spec, bool show_progress);

// sentence-transformers' truncation (embed.truncate): token inputs longer than
// `max_rows` keep their first tokens, the closing special token the tokenizer
// added (SEP / EOS) staying last. Returns how many inputs were cut.
size_t truncate_inputs(std::vector<Input>& inputs, size_t max_rows, const Tokenizer* tok);

}  // namespace tessel::embed
