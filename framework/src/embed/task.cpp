// The "embed" task: texts (inline, one per line of a file, or token ids) or
// embedding rows from an input adapter -> Embedder -> writer. `tessel embed`
// and `tessel run CONFIG` with `task: embed` both end up here.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "tessel/output_file.hpp"
#include "tessel/embedding.hpp"
#include "tessel/error.hpp"
#include "tessel/input.hpp"
#include "tessel/kernels.hpp"
#include "tessel/loaded_pipeline.hpp"
#include "tessel/log.hpp"
#include "tessel/progress.hpp"

namespace tessel::embed {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// One text per line; a trailing '\r' goes, empty lines are skipped.
std::vector<std::string> read_lines(const std::filesystem::path& path) {
  note_input(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("embed: can't open the input file " + path.string());
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(std::move(line));
  }
  if (in.bad()) throw Error("embed: reading " + path.string() + " failed");
  return lines;
}

struct Gathered {
  std::vector<std::string> texts;
  std::vector<Input> inputs;
  std::shared_ptr<Tokenizer> tokenizer;  // set when some text was tokenized
  double tokenizer_ms = 0;               // building it from the vocabulary: load work
};

Gathered gather(const PipelineSpec& spec, Registry& reg, const std::shared_ptr<ModelFile>& file,
                const Model& model) {
  Gathered g;
  std::shared_ptr<Tokenizer> tok;
  // The task prompt is the model's (EmbeddingGemma's "query"...): its plugin knows it.
  const std::string prefix =
      (spec.embed.task.empty() ? std::string() : model.task_prompt(spec.embed.task)) + spec.embed.prefix;
  auto tokenize = [&](const std::string& text) {
    if (!tok) {
      const auto t0 = Clock::now();
      tok = make_tokenizer(reg, file, spec.tokenizer);
      g.tokenizer_ms = ms_since(t0);
    }
    Input in;
    // As llama-embedding: specials added (BOS/EOS/CLS/SEP) and parsed in the text.
    in.tokens = tok->encode(prefix + text, EncodeOptions{true, true});
    g.texts.push_back(text);
    g.inputs.push_back(std::move(in));
  };
  for (size_t i = 0; i < spec.inputs.size(); ++i) {
    const InputSegment& seg = spec.inputs[i];
    const std::string where = "inputs[" + std::to_string(i) + "]";
    if (seg.adapter == "tokens") {
      check_params(seg, {});  // embed always adds and parses specials, as llama-embedding
      const int given = int(!seg.text.empty()) + int(!seg.ids.empty()) + int(!seg.file.empty());
      if (given == 0)
        throw Error(where + ": the text is empty (an empty -p or blank line?): give a non-empty text, ids or a file");
      if (given != 1) throw Error(where + ": give exactly one of text, ids or file");
      if (!seg.ids.empty()) {
        Input in;
        in.tokens = seg.ids;
        g.texts.emplace_back();
        g.inputs.push_back(std::move(in));
      } else if (!seg.file.empty()) {
        for (const std::string& line : read_lines(seg.file)) tokenize(line);
      } else {
        tokenize(seg.text);
      }
      continue;
    }
    // Any other adapter (embedding rows...): its chunks form one sequence.
    auto adapter = reg.create<InputAdapter>("input", seg.adapter);
    AdapterContext actx;
    actx.model_file = file.get();
    actx.model = &model;
    actx.registry = &reg;
    actx.threads = spec.runtime.threads;
    if (!tok && file->meta.has("tokenizer.ggml.model")) tok = make_tokenizer(reg, file, spec.tokenizer);
    actx.tokenizer = tok.get();
    Input in;
    for (const BatchChunk& c : adapter->adapt(seg, actx)) {
      in.tokens.insert(in.tokens.end(), c.tokens.begin(), c.tokens.end());
      in.embd.insert(in.embd.end(), c.embd.begin(), c.embd.end());
    }
    if (!in.tokens.empty() && !in.embd.empty())
      throw Error(where + ": adapter '" + seg.adapter +
                  "' gave both tokens and embedding rows; the embed task takes one kind per input");
    g.texts.push_back(seg.file.empty() ? seg.text : seg.file.string());
    g.inputs.push_back(std::move(in));
  }
  if (g.inputs.empty())
    throw Error(spec.source + ": the embed task needs at least one input text (-p TEXT or -f FILE)");
  g.tokenizer = tok;
  return g;
}

}  // namespace

size_t truncate_inputs(std::vector<Input>& inputs, size_t max_rows, const Tokenizer* tok) {
  size_t cut = 0;
  for (Input& in : inputs) {
    if (in.tokens.size() <= max_rows || max_rows == 0) continue;
    const TokenId last = in.tokens.back();
    const auto& sp = tok ? tok->special() : SpecialTokens{};
    const bool closing = tok && ((sp.add_sep && last == sp.sep) || (sp.add_eos && last == sp.eos));
    in.tokens.resize(max_rows);
    if (closing) in.tokens.back() = last;
    ++cut;
  }
  return cut;
}

Run run_embeddings(const PipelineSpec& spec, bool show_progress) {
  Run run;
  auto t0 = Clock::now();
  auto [reg, file, no_tok, codecs, model] = load_pipeline_model(spec, TokenizerNeed::None);  // gather() makes it
  run.load_ms = ms_since(t0);
  t0 = Clock::now();
  Gathered g = gather(spec, *reg, file, *model);
  run.tokenize_ms = ms_since(t0) - g.tokenizer_ms;
  run.load_ms += g.tokenizer_ms;
  Options opts;
  opts.pooling = resolve_pooling(spec.embed.pooling, model->hparams());
  opts.normalize = spec.embed.normalize;
  opts.dims = spec.embed.dims;
  opts.n_batch = spec.runtime.n_batch;
  if (opts.normalize < -1)
    throw Error(spec.source + ": embed.normalize " + std::to_string(opts.normalize) +
                " is not -1 (none), 0 (max-abs), 1 (taxicab), 2 (euclidean) or p > 2");
  t0 = Clock::now();
  Embedder embedder(*model, spec.runtime, opts);
  run.load_ms += ms_since(t0);
  if (spec.embed.truncate) {
    const size_t cut = truncate_inputs(g.inputs, embedder.max_rows(), g.tokenizer.get());
    if (cut)
      std::cerr << "embed: cut " << cut << " text" << (cut == 1 ? "" : "s") << " to " << embedder.max_rows()
                << " tokens (truncate)\n";
  }
  // The bar only when asked for and stderr is a terminal: logs never get \r lines.
  Progress bar("embed", g.inputs.size(), "texts", show_progress && Progress::stderr_is_terminal());
  run.pooling = opts.pooling;
  const int64_t width = std::max<int64_t>(1, model->hparams().n_embd);
  for (const Input& in : g.inputs) run.n_rows += in.tokens.empty() ? in.embd.size() / size_t(width) : in.tokens.size();
  t0 = Clock::now();
  const double packed_before = kernels::packing_ms();
  run.results = embedder.embed(g.inputs, [&](size_t done, size_t) { bar.update(done); });
  run.pack_ms = kernels::packing_ms() - packed_before;  // load work, not embedding work
  run.embed_ms = std::max(0.0, ms_since(t0) - run.pack_ms);
  bar.finish();
  run.texts = std::move(g.texts);
  return run;
}

namespace {

int run_embed_task(const PipelineSpec& spec) {
  const auto t0 = Clock::now();
  Run run = run_embeddings(spec, true);
  write_results(run.results, run.texts, spec.embed);
  const double ms = ms_since(t0);
  const int64_t cols = run.results.empty() ? 0 : run.results[0].cols;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "embed: %zu texts -> %lld values each row (pooling %s, normalize %d) in %.1f ms: load %.1f ms "
                "(packing weights %.1f ms), tokenize %.1f ms, %zu rows in %.1f ms (%.1f rows/s)\n",
                run.results.size(), static_cast<long long>(cols), pooling_name(run.pooling), spec.embed.normalize,
                ms, run.load_ms + run.pack_ms, run.pack_ms, run.tokenize_ms, run.n_rows, run.embed_ms,
                run.embed_ms > 0 ? 1000.0 * double(run.n_rows) / run.embed_ms : 0.0);
  if (quiet()) return 0;
  std::cerr << buf;
  if (!spec.embed.out_path.empty()) std::cerr << "embed: wrote " << spec.embed.out_path << "\n";
  return 0;
}

TaskRegistration embed_reg("embed", &run_embed_task);

}  // namespace
}  // namespace tessel::embed
