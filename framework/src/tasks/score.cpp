// The score task: the logits of EVERY position of the prompt, as one float32
// .npy [n_rows, n_vocab] at spec.output (what `tessel logits` writes). The
// prompt's segments (text, ids, embedding rows, images) go through the input
// adapters and are decoded in chunks of runtime.batch rows into one KV cache,
// every row an output, as llama.cpp's refdump did for the golden files.
#include <iostream>

#include "tessel/config.hpp"
#include "tessel/error.hpp"
#include "tessel/npy.hpp"
#include "tessel/loaded_pipeline.hpp"
#include "tessel/prompt.hpp"

namespace tessel {
namespace {

int run_score_task(const PipelineSpec& spec) {
  if (spec.output.empty())
    throw Error(spec.source + ": the score task needs an output path (output: FILE.npy, or -o)");
  if (spec.inputs.empty()) throw Error(spec.source + ": the score task needs a prompt (inputs, or -p TEXT)");
  auto [reg, file, no_tok, codecs, model] = load_pipeline_model(spec, TokenizerNeed::None);  // made below if needed
  const HParams& hp = model->hparams();
  if (!hp.has_logits) throw Error("score: architecture '" + hp.arch + "' has no LM head");

  bool needs_tokenizer = false;
  for (const auto& seg : spec.inputs) needs_tokenizer |= seg.adapter != "embeddings" && seg.ids.empty();
  std::shared_ptr<Tokenizer> tok;
  if (needs_tokenizer) tok = make_tokenizer(*reg, file, spec.tokenizer);
  std::vector<InputSegment> segments = spec.inputs;
  apply_default_mmproj(segments, spec.model.mmproj);
  AdapterContext actx;
  actx.model_file = file.get();
  actx.model = model.get();
  actx.tokenizer = tok.get();
  actx.registry = reg.get();
  actx.threads = spec.runtime.threads;
  const auto chunks = assemble_prompt(*reg, segments, actx);

  auto ctx = model->new_context(spec.runtime);
  const size_t rows = prompt_rows(chunks);
  if (rows == 0) throw Error(spec.source + ": the prompt is empty after tokenization");
  if (int64_t(rows) > ctx->n_ctx())
    throw Error("score: the prompt has " + std::to_string(rows) + " rows but the context holds " +
                std::to_string(ctx->n_ctx()) + "; raise runtime.context (-c)");
  PromptDecodeOptions po;
  po.n_batch = spec.runtime.n_batch;
  po.all_logits = true;
  const PromptResult res = decode_prompt(*model, *ctx, chunks, po);
  const int64_t n_vocab = hp.n_vocab;
  write_npy(spec.output, res.logits.data(), {int64_t(res.logits.size()) / n_vocab, n_vocab});
  std::cerr << "score: " << res.n_rows << " positions (" << chunks.size() << " chunks) x " << n_vocab
            << " logits -> " << spec.output.string() << "\n";
  return 0;
}

TaskRegistration score_reg("score", &run_score_task);

}  // namespace
}  // namespace tessel
