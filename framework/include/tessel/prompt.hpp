#pragma once
// Prompt assembly: input segments (text, token ids, embedding rows, images)
// -> ordered batch chunks through the input adapter plugins -> decoded in
// order into one KV cache, as llama.cpp's mtmd does:
//   - a text is split on the media marker "<__media__>" into text and image
//     segments (one image file per marker);
//   - each text part is tokenized on its own; BOS only at the very start;
//   - consecutive token chunks are merged into one text chunk;
//   - positions are consecutive over all chunks (an image chunk takes one
//     position per row); image rows are decoded non-causally when the
//     projector asks for it (Gemma 3), everything else causally.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tessel/architecture.hpp"
#include "tessel/input.hpp"
#include "tessel/registry.hpp"

namespace tessel {

// llama.cpp's mtmd_default_marker().
inline constexpr const char* kMediaMarker = "<__media__>";

// Splits `text` on the media marker: text segments ("tokens") alternate with
// image segments ("image", file = images[i], params["mmproj"] = mmproj).
// When the text has no marker the images follow the text (as mtmd-cli appends
// the markers). Throws tessel::Error when markers and images don't pair up.
std::vector<InputSegment> split_media_prompt(const std::string& text,
                                             const std::vector<std::filesystem::path>& images,
                                             const std::filesystem::path& mmproj = {});

// Image segments without their own params["mmproj"] get `mmproj` (the
// pipeline's model.mmproj), so a config names the projector once.
void apply_default_mmproj(std::vector<InputSegment>& segments, const std::filesystem::path& mmproj);

// Runs every segment through its adapter (registry kind "input", name
// seg.adapter) and returns the chunks in order, consecutive token chunks
// merged. BOS (when the model adds one and ctx.add_special) starts the prompt
// if it begins with an image. ctx.first_segment is managed here.
// `adapters`, when given, keeps the adapters made for one call for the next
// (the image adapter keeps its projector loaded: a server's requests share it).
std::vector<BatchChunk> assemble_prompt(Registry& reg, const std::vector<InputSegment>& segments,
                                        AdapterContext ctx,
                                        std::map<std::string, std::shared_ptr<InputAdapter>>* adapters = nullptr);

struct PromptDecodeOptions {
  int32_t seq = 0;
  int32_t n_past = 0;        // position of the first row
  int32_t n_batch = 512;     // rows per forward() (a non-causal chunk is never split)
  bool all_logits = false;   // logits for every row; otherwise only the very last row
};

struct PromptResult {
  std::vector<float> logits;        // [n_out, n_vocab]
  std::vector<int32_t> positions;   // position of each logits row
  int32_t n_past = 0;               // next free position after the prompt
  size_t n_rows = 0;                // rows decoded
};

// Decodes `chunks` in order into ctx's KV cache (llama.cpp's
// mtmd_helper_eval_chunks with logits_last, or every row with all_logits).
PromptResult decode_prompt(Model& model, Context& ctx, const std::vector<BatchChunk>& chunks,
                           const PromptDecodeOptions& opts = {});

// Number of rows (positions) the chunks take.
size_t prompt_rows(const std::vector<BatchChunk>& chunks);

}  // namespace tessel
