// The score task: the logits of EVERY position of the prompt, as one float32
// .npy [n_tokens, n_vocab] at spec.output (what `tessel logits` writes). The
// prompt is decoded in chunks of runtime.batch rows into one KV cache, all
// rows marked as outputs, as llama.cpp's refdump did for the golden files.
#include <algorithm>
#include <iostream>

#include "tessel/config.hpp"
#include "tessel/error.hpp"
#include "tessel/npy.hpp"
#include "tessel/pipeline.hpp"

namespace tessel {
namespace {

// Token ids from "tokens" segments: explicit ids verbatim, text tokenized as
// llama.cpp's tools do (specials parsed; BOS only before the first segment,
// unless the segment's params say add_special: false).
std::vector<TokenId> score_prompt(const PipelineSpec& spec, Registry& reg,
                                  const std::shared_ptr<ModelFile>& file) {
  std::shared_ptr<Tokenizer> tok;
  std::vector<TokenId> ids;
  for (size_t i = 0; i < spec.inputs.size(); ++i) {
    const InputSegment& seg = spec.inputs[i];
    if (seg.adapter != "tokens")
      throw Error("inputs[" + std::to_string(i) + "]: adapter '" + seg.adapter +
                  "' is not supported by the score task (expected: tokens)");
    if (!seg.text.empty() && !seg.ids.empty())
      throw Error("inputs[" + std::to_string(i) + "]: give either text or ids, not both");
    if (!seg.ids.empty()) {
      ids.insert(ids.end(), seg.ids.begin(), seg.ids.end());
      continue;
    }
    if (!tok) tok = make_tokenizer(reg, file, spec.tokenizer);
    auto it = seg.params.find("add_special");
    const bool add_special = i == 0 && (it == seg.params.end() || it->second != "false");
    auto part = tok->encode(seg.text, EncodeOptions{add_special, true});
    ids.insert(ids.end(), part.begin(), part.end());
  }
  if (ids.empty()) throw Error(spec.source + ": the score task needs a non-empty prompt");
  return ids;
}

int run_score_task(const PipelineSpec& spec) {
  if (spec.output.empty())
    throw Error(spec.source + ": the score task needs an output path (output: FILE.npy, or -o)");
  auto reg = make_registry(spec.plugin_paths);
  auto file = open_model_file(*reg, spec.model.path, spec.model.format);
  auto codecs = load_codecs(*reg);
  const std::vector<TokenId> ids = score_prompt(spec, *reg, file);
  auto model = load_model(*reg, file, codecs, spec.runtime, spec.architecture);
  const HParams& hp = model->hparams();
  if (!hp.has_logits) throw Error("score: architecture '" + hp.arch + "' has no LM head");
  auto ctx = model->new_context(spec.runtime);
  if (int64_t(ids.size()) > ctx->n_ctx())
    throw Error("score: the prompt has " + std::to_string(ids.size()) +
                " tokens but the context holds " + std::to_string(ctx->n_ctx()) +
                "; raise runtime.context (-c)");
  const size_t n_vocab = size_t(hp.n_vocab);
  const size_t n_batch = size_t(std::max(1, spec.runtime.n_batch));
  std::vector<float> logits;
  logits.reserve(ids.size() * n_vocab);
  Outputs out;
  for (size_t start = 0; start < ids.size(); start += n_batch) {
    const size_t n = std::min(n_batch, ids.size() - start);
    Batch batch;
    for (size_t i = 0; i < n; ++i) batch.add_token(ids[start + i], int32_t(start + i), 0, true);
    model->forward(batch, *ctx, out);
    if (out.logits.size() != n * n_vocab)
      throw Error("score: the model returned " + std::to_string(out.logits.size()) +
                  " logits for " + std::to_string(n) + " rows of " + std::to_string(n_vocab));
    logits.insert(logits.end(), out.logits.begin(), out.logits.end());
  }
  write_npy(spec.output, logits.data(), {int64_t(ids.size()), int64_t(n_vocab)});
  std::cerr << "score: " << ids.size() << " positions x " << n_vocab << " logits -> "
            << spec.output.string() << "\n";
  return 0;
}

TaskRegistration score_reg("score", &run_score_task);

}  // namespace
}  // namespace tessel
