// The generate task: prompt → decode in batches → sample, stream, stop.
// Mirrors llama.cpp's completion tool: the prompt tokens enter the sampler's
// penalty window, --ignore-eos bans end-of-generation tokens (a -inf logit bias),
// and a full context ends the run with a message instead of an error.
#include "generate.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "tessel/chat.hpp"
#include "tessel/error.hpp"
#include "tessel/kernels.hpp"
#include "tessel/loaded_pipeline.hpp"
#include "tessel/log.hpp"
#include "tessel/prompt.hpp"
#include "tessel/sampler.hpp"

namespace tessel::generate {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string where(size_t index) { return "inputs[" + std::to_string(index) + "]"; }

// The user turn of chat mode: the text segments joined, each image as the media
// marker (llama.cpp's mtmd-cli formats the chat the same way), plus the images.
struct ChatTurn {
  std::string text;
  std::vector<std::filesystem::path> images;
  std::filesystem::path mmproj;
};

ChatTurn chat_turn(const PipelineSpec& spec) {
  ChatTurn t;
  t.mmproj = spec.model.mmproj;
  for (size_t i = 0; i < spec.inputs.size(); ++i) {
    const auto& seg = spec.inputs[i];
    if (seg.adapter == "tokens") {
      if (!seg.ids.empty())
        throw Error(where(i) + ": chat mode needs text inputs, not token ids (turn generate.chat off to feed ids)");
      t.text += seg.text;
    } else if (seg.adapter == "image") {
      t.text += kMediaMarker;
      t.images.push_back(seg.file);
      auto it = seg.params.find("mmproj");
      if (it != seg.params.end()) t.mmproj = it->second;
    } else {
      throw Error(where(i) + ": adapter '" + seg.adapter +
                  "' can't be part of a chat turn (chat mode takes tokens and image inputs)");
    }
  }
  return t;
}

// Decodes `ids` at positions n_past.. in chunks; logits of the last row land in `out`.
void decode(Model& model, Context& ctx, std::span<const TokenId> ids, int n_batch, Outputs& out) {
  for (size_t start = 0; start < ids.size(); start += size_t(n_batch)) {
    const size_t n = std::min(ids.size() - start, size_t(n_batch));
    const bool last_chunk = start + n == ids.size();
    Batch batch;
    const int32_t p0 = ctx.n_past(0);
    for (size_t i = 0; i < n; ++i)
      batch.add_token(ids[start + i], p0 + int32_t(i), 0, last_chunk && i + 1 == n);
    out = Outputs{};
    out.want_logits = true;
    model.forward(batch, ctx, out);
  }
}

std::span<const float> last_logits(const Outputs& out, size_t n_vocab) {
  if (out.rows.empty() || out.logits.size() < out.rows.size() * n_vocab)
    throw Error("generate: the model returned no logits for the last token (got " +
                std::to_string(out.logits.size()) + " values, expected " +
                std::to_string(n_vocab) + " per output row)");
  return std::span<const float>(out.logits).subspan((out.rows.size() - 1) * n_vocab, n_vocab);
}

}  // namespace

std::string chat_prompt_text(const PipelineSpec& spec, const Metadata& meta, const Tokenizer* tok) {
  const ChatTurn turn = chat_turn(spec);
  const ChatFormat format =
      resolve_chat_format(spec.generate.chat_template, spec.generate.chat_template_file, meta, tok);
  if (format.name == "none") {
    if (!spec.generate.system.empty())
      throw Error("generate.system needs a chat template, but generate.chat_template is none");
    return turn.text;
  }
  std::vector<ChatMessage> chat;
  if (!spec.generate.system.empty()) chat.push_back({"system", spec.generate.system});
  chat.push_back({"user", turn.text});
  return format.apply(chat, true);
}

std::vector<BatchChunk> token_prompt(std::vector<TokenId> ids) {
  std::vector<BatchChunk> chunks(1);
  chunks[0].tokens = std::move(ids);
  chunks[0].n_rows = chunks[0].tokens.size();
  return chunks;
}

std::vector<BatchChunk> build_prompt(const PipelineSpec& spec, Registry& reg, const ModelFile& file,
                                     const Model* model, const Tokenizer& tok) {
  if (spec.inputs.empty())
    throw Error(spec.source + ": the generate task needs a prompt (inputs, or -p TEXT)");
  std::vector<InputSegment> segments;
  if (spec.generate.chat) {
    const ChatTurn turn = chat_turn(spec);
    const std::string text = chat_prompt_text(spec, file.meta, &tok);
    if (turn.images.empty()) segments.push_back(InputSegment{"tokens", text, {}, {}, {}});
    else segments = split_media_prompt(text, turn.images, turn.mmproj);
  } else {
    if (!spec.generate.system.empty())
      throw Error("generate.system is only used in chat mode (--chat / generate.chat: true)");
    segments = spec.inputs;
    apply_default_mmproj(segments, spec.model.mmproj);
  }
  AdapterContext actx;
  actx.model_file = &file;
  actx.model = model;
  actx.tokenizer = &tok;
  actx.add_special = true;
  actx.parse_special = true;
  actx.threads = spec.runtime.threads;
  auto chunks = assemble_prompt(reg, segments, actx);
  if (prompt_rows(chunks) == 0)
    throw Error(spec.source + ": the prompt is empty after tokenization (and the model adds no BOS)");
  return chunks;
}

Result run(Model& model, Context& ctx, const Tokenizer& tok, const std::vector<BatchChunk>& prompt,
           const GenerateSpec& gen, int n_batch, std::ostream& out, const std::atomic<bool>* cancel) {
  if (n_batch < 1) throw Error("runtime.batch must be at least 1, got " + std::to_string(n_batch));
  if (gen.max_tokens < -1)
    throw Error("generate.max_tokens must be -1 (no limit), 0 or more, got " + std::to_string(gen.max_tokens));
  const auto& hp = model.hparams();
  if (!hp.has_logits)
    throw Error("generate: architecture '" + hp.arch + "' has no LM head (an embedding model?)");
  const size_t n_vocab = size_t(hp.n_vocab);
  Result r;
  r.n_prompt = prompt_rows(prompt);
  r.n_ctx = ctx.n_ctx();
  if (r.n_prompt == 0) throw Error("generate: empty prompt");
  if (int64_t(r.n_prompt) + ctx.n_past(0) > r.n_ctx)
    throw Error("the prompt has " + std::to_string(r.n_prompt) + " tokens but the context holds " +
                std::to_string(r.n_ctx) + ": raise runtime.context (-c) or shorten the prompt");

  Sampler sampler(gen.sampler, r.n_ctx);
  r.seed = sampler.seed();
  if (gen.ignore_eos)
    for (size_t t = 0; t < n_vocab && t < tok.vocab_size(); ++t)
      if (tok.is_eog(TokenId(t))) sampler.ban(TokenId(t));
  for (const auto& chunk : prompt)
    for (TokenId t : chunk.tokens) sampler.accept(t);

  TextStream stream(out, gen.stop);
  auto t0 = Clock::now();
  PromptDecodeOptions popts;
  popts.n_past = ctx.n_past(0);
  popts.n_batch = n_batch;
  const double packed_before = kernels::packing_ms();
  const PromptResult pr = decode_prompt(model, ctx, prompt, popts);
  r.pack_ms = kernels::packing_ms() - packed_before;  // load work, not prompt work
  Outputs outs;
  outs.rows = {0};
  if (pr.logits.size() < n_vocab)
    throw Error("generate: the model returned no logits for the last prompt row");
  outs.logits.assign(pr.logits.end() - std::ptrdiff_t(n_vocab), pr.logits.end());
  r.prompt_ms = std::max(0.0, ms_since(t0) - r.pack_ms);

  t0 = Clock::now();
  for (int n = 0; gen.max_tokens < 0 || n < gen.max_tokens; ++n) {
    if (cancel && cancel->load()) {
      r.reason = StopReason::Cancelled;
      break;
    }
    const TokenId id = sampler.sample(last_logits(outs, n_vocab));
    sampler.accept(id);
    if (tok.is_eog(id) && !gen.ignore_eos) {
      r.reason = StopReason::EndOfGeneration;
      break;
    }
    r.tokens.push_back(id);
    if (stream.push(tok.piece(id))) {
      r.reason = StopReason::StopString;
      break;
    }
    if (gen.max_tokens >= 0 && n + 1 >= gen.max_tokens) break;  // no need to decode it
    if (ctx.n_past(0) + 1 > r.n_ctx) {
      r.reason = StopReason::ContextFull;
      break;
    }
    const TokenId one[1] = {id};
    decode(model, ctx, one, n_batch, outs);
    ++r.n_decoded;
  }
  stream.finish();
  r.gen_ms = ms_since(t0);
  r.text = stream.printed();
  return r;
}

std::string stats_line(const Result& r) {
  auto rate = [](double n, double ms) { return ms > 0 ? 1000.0 * n / ms : 0.0; };
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "generate: load %.1f ms (packing weights %.1f ms), prompt %zu tokens in %.1f ms (%.1f t/s), "
                "generated %zu tokens in %.1f ms (%.1f t/s)",
                r.load_ms + r.pack_ms, r.pack_ms, r.n_prompt, r.prompt_ms, rate(double(r.n_prompt), r.prompt_ms),
                r.tokens.size(), r.gen_ms, rate(double(r.tokens.size()), r.gen_ms));
  return buf;
}

std::string prompt_echo(const PipelineSpec& spec) {
  if (spec.generate.chat) return {};
  std::string text;
  for (const auto& seg : spec.inputs)
    if (seg.adapter == "tokens") text += seg.text;
  return text;
}

int run_generate_task(const PipelineSpec& spec) {
  const auto t_load = Clock::now();
  auto [reg, file, tok, codecs, model] = load_pipeline_model(spec);
  auto ctx = model->new_context(spec.runtime);
  const double load_ms = ms_since(t_load);
  const auto prompt = build_prompt(spec, *reg, *file, model.get(), *tok);

  const std::string echo = spec.generate.display_prompt ? prompt_echo(spec) : std::string();
  std::cout << echo << std::flush;
  Result r = run(*model, *ctx, *tok, prompt, spec.generate, spec.runtime.n_batch, std::cout);
  r.load_ms = load_ms;
  // Output ends with a newline, as llama.cpp's tools end theirs.
  const std::string& last = r.text.empty() ? echo : r.text;
  if (!last.empty() && last.back() != '\n') std::cout << "\n";
  std::cout.flush();
  if (!quiet()) std::cerr << "sampler seed: " << r.seed << "\n";
  if (r.reason == StopReason::ContextFull)
    std::cerr << "generate: context full (" << r.n_ctx << " tokens), stopping; raise runtime.context (-c) "
              << "for longer output\n";
  if (!quiet()) std::cerr << stats_line(r) << "\n";
  return 0;
}

static TaskRegistration reg("generate", &run_generate_task);

}  // namespace tessel::generate
