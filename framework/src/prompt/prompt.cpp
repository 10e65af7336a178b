// Prompt assembly and chunked decoding (llama.cpp's mtmd_tokenize +
// mtmd_helper_eval_chunks, generalized to any input adapter).
#include "tessel/prompt.hpp"

#include <algorithm>

#include "tessel/error.hpp"

namespace tessel {

std::vector<InputSegment> split_media_prompt(const std::string& text,
                                             const std::vector<std::filesystem::path>& images,
                                             const std::filesystem::path& mmproj) {
  const std::string marker = kMediaMarker;
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t at; (at = text.find(marker, start)) != std::string::npos; start = at + marker.size())
    parts.push_back(text.substr(start, at - start));
  parts.push_back(text.substr(start));
  const size_t n_markers = parts.size() - 1;
  if (n_markers == 0 && !images.empty()) {
    // No marker: the images follow the text, as mtmd-cli appends the markers.
    parts.resize(images.size() + 1);
  } else if (n_markers != images.size()) {
    throw Error("the prompt has " + std::to_string(n_markers) + " " + marker + " marker(s) but " +
                std::to_string(images.size()) + " image(s) were given; give one image per marker");
  }
  if (!images.empty() && mmproj.empty())
    throw Error("an image needs a multimodal projector: give --mmproj MMPROJ.gguf");
  std::vector<InputSegment> segs;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!parts[i].empty()) {
      InputSegment t;
      t.adapter = "tokens";
      t.text = parts[i];
      segs.push_back(std::move(t));
    }
    if (i < images.size()) {
      InputSegment im;
      im.adapter = "image";
      im.file = images[i];
      im.params["mmproj"] = mmproj.string();
      segs.push_back(std::move(im));
    }
  }
  return segs;
}

std::vector<BatchChunk> assemble_prompt(Registry& reg, const std::vector<InputSegment>& segments,
                                        AdapterContext ctx,
                                        std::map<std::string, std::shared_ptr<InputAdapter>>* adapters) {
  ctx.registry = &reg;
  std::vector<BatchChunk> out;
  auto push = [&](BatchChunk&& c) {
    const bool is_tokens = c.embd.empty();
    if (is_tokens && c.tokens.empty()) return;
    if (!is_tokens && c.n_rows == 0) return;
    if (is_tokens && !out.empty() && out.back().embd.empty() && out.back().causal && c.causal) {
      // Consecutive text parts form one text chunk (mtmd merges them too).
      out.back().tokens.insert(out.back().tokens.end(), c.tokens.begin(), c.tokens.end());
      return;
    }
    out.push_back(std::move(c));
  };
  for (size_t i = 0; i < segments.size(); ++i) {
    const InputSegment& seg = segments[i];
    if (i == 0 && seg.adapter == "image" && ctx.add_special && ctx.tokenizer &&
        ctx.tokenizer->special().add_bos && ctx.tokenizer->special().bos >= 0) {
      // mtmd prepends BOS to the prompt even when it starts with an image.
      BatchChunk bos;
      bos.tokens.push_back(ctx.tokenizer->special().bos);
      push(std::move(bos));
    }
    ctx.first_segment = (i == 0);
    std::shared_ptr<InputAdapter> adapter;
    if (adapters) {
      auto& kept = (*adapters)[seg.adapter];
      if (!kept) kept = reg.create<InputAdapter>("input", seg.adapter);
      adapter = kept;
    } else {
      adapter = reg.create<InputAdapter>("input", seg.adapter);
    }
    for (BatchChunk& c : adapter->adapt(seg, ctx)) push(std::move(c));
  }
  return out;
}

size_t prompt_rows(const std::vector<BatchChunk>& chunks) {
  size_t n = 0;
  for (const BatchChunk& c : chunks) n += c.embd.empty() ? c.tokens.size() : c.n_rows;
  return n;
}

PromptResult decode_prompt(Model& model, Context& ctx, const std::vector<BatchChunk>& chunks,
                           const PromptDecodeOptions& opts) {
  const HParams& hp = model.hparams();
  const int64_t E = hp.n_embd;
  const size_t total = prompt_rows(chunks);
  if (total == 0) throw Error("the prompt is empty: nothing to decode");
  if (opts.n_past + int64_t(total) > ctx.n_ctx())
    throw Error("the prompt needs " + std::to_string(total) + " positions from " +
                std::to_string(opts.n_past) + " but the context holds " +
                std::to_string(ctx.n_ctx()));
  PromptResult res;
  int32_t pos = opts.n_past;
  size_t done = 0;
  const size_t n_batch = size_t(std::max<int32_t>(1, opts.n_batch));
  Outputs out;
  out.want_logits = hp.has_logits;
  for (const BatchChunk& c : chunks) {
    const bool tokens = c.embd.empty();
    const size_t n = tokens ? c.tokens.size() : c.n_rows;
    if (!tokens && c.embd.size() != n * size_t(E))
      throw Error("an embedding chunk of " + std::to_string(n) + " rows holds " +
                  std::to_string(c.embd.size()) + " values; the model's rows are " +
                  std::to_string(E) + " wide");
    // A non-causal chunk must see all of itself in one forward pass.
    const size_t step = c.causal ? n_batch : n;
    for (size_t b = 0; b < n; b += step) {
      const size_t m = std::min(step, n - b);
      Batch batch;
      batch.causal = c.causal;
      for (size_t i = 0; i < m; ++i) {
        const bool last = done + b + i + 1 == total;
        batch.pos.push_back(pos + int32_t(b + i));
        batch.seq.push_back(opts.seq);
        batch.output.push_back(opts.all_logits || last ? 1 : 0);
      }
      if (tokens) batch.tokens.assign(c.tokens.begin() + b, c.tokens.begin() + b + m);
      else batch.embd.assign(c.embd.begin() + b * E, c.embd.begin() + (b + m) * E);
      model.forward(batch, ctx, out);
      for (size_t r = 0; r < out.rows.size(); ++r) res.positions.push_back(batch.pos[out.rows[r]]);
      res.logits.insert(res.logits.end(), out.logits.begin(), out.logits.end());
    }
    pos += int32_t(n);
    done += n;
  }
  res.n_past = pos;
  res.n_rows = total;
  return res;
}

void apply_default_mmproj(std::vector<InputSegment>& segments, const std::filesystem::path& mmproj) {
  if (mmproj.empty()) return;
  for (auto& seg : segments)
    if (seg.adapter == "image" && !seg.params.count("mmproj")) seg.params["mmproj"] = mmproj.string();
}

}  // namespace tessel
