// `tessel logits -m MODEL (-p PROMPT | --ids 1,2,3 | --embd ROWS) -o OUT.npy`: float32
// [n_tokens, n_vocab], the logits of every position. A shorthand for the
// "score" task, so `tessel run` with task: score runs the same code.
#include <filesystem>
#include <iostream>

#include "command.hpp"
#include "tessel/config.hpp"
#include "tessel/error.hpp"
#include "tessel/npy.hpp"
#include "tessel/pipeline.hpp"
#include "tessel/prompt.hpp"

namespace {

struct Options {
  std::string model, prompt, ids, out, format = "auto", arch = "auto", tokenizer = "auto";
  bool no_bos = false, flash_attn = false, kv_f32 = false;
  int threads = 0, ctx = 0, batch = 512;
  std::vector<std::string> plugin_paths;
  std::string embd, mmproj;          // --embd ROWS / --mmproj MMPROJ (inputs engineer)
  std::vector<std::string> images;   // --image IMG (one per <__media__> marker)
};

std::vector<tessel::TokenId> parse_ids(const std::string& s) {
  std::vector<tessel::TokenId> ids;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    const std::string item = s.substr(i, j - i);
    try {
      size_t used = 0;
      const long v = std::stol(item, &used);
      if (used != item.size() || v < 0 || v > INT32_MAX) throw std::invalid_argument(item);
      ids.push_back(tessel::TokenId(v));
    } catch (const std::exception&) {
      throw tessel::Error("--ids: '" + item + "' is not a token id (expected e.g. --ids 1,403,407)");
    }
    i = j + 1;
  }
  if (ids.empty()) throw tessel::Error("--ids: no token ids given");
  return ids;
}

tessel::host::Command logits_cmd{
    "logits", "Write the logits of every prompt position to a .npy file", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("-m,--model", o->model, "Model file")->required();
      auto* p = app.add_option("-p,--prompt", o->prompt, "Prompt text (tokenized with specials)");
      auto* ids = app.add_option("--ids", o->ids, "Comma-separated token ids, used verbatim");
      p->excludes(ids);
      app.add_option("-o,--output", o->out, "Output .npy [n_tokens, n_vocab]")->required();
      app.add_flag("--no-bos", o->no_bos, "Don't add BOS/EOS when tokenizing -p");
      app.add_option("-t,--threads", o->threads, "Threads (0: all cores)");
      app.add_flag("--flash-attn", o->flash_attn, "llama.cpp's flash-attention numerics (default off)");
      app.add_flag("--kv-f32", o->kv_f32, "F32 KV cache instead of llama.cpp's F16");
      app.add_option("-c,--ctx-size", o->ctx, "Context size (0: min(training context, 4096))");
      app.add_option("-b,--batch-size", o->batch, "Rows per forward pass");
      app.add_option("--format", o->format, "Weight format plugin (auto)");
      app.add_option("--arch", o->arch, "Architecture plugin (auto)");
      app.add_option("--tokenizer", o->tokenizer, "Tokenizer plugin (auto)");
      app.add_option("--plugin-path", o->plugin_paths, "Extra folder to search for plugins");
      app.add_option("--embd", o->embd, "Embedding rows (.npy/.json/raw f32) fed as batch.embd");
      app.add_option("--mmproj", o->mmproj, "Multimodal projector for --image");
      app.add_option("--image", o->images, "Image for a <__media__> marker in -p (repeatable)");
      return [o]() {
        if (o->prompt.empty() && o->ids.empty() && o->embd.empty())
          throw tessel::Error("logits: give a prompt (-p TEXT), token ids (--ids 1,2,3) or rows (--embd ROWS)");
        tessel::PipelineSpec spec;
        spec.source = "command line";
        spec.task = "score";
        spec.model.path = o->model;
        spec.model.format = o->format;
        spec.model.mmproj = o->mmproj;
        spec.architecture = o->arch;
        spec.tokenizer = o->tokenizer;
        if (!o->ids.empty()) {
          tessel::InputSegment seg;
          seg.adapter = "tokens";
          seg.ids = parse_ids(o->ids);
          spec.inputs.push_back(seg);
        } else if (!o->prompt.empty() || !o->images.empty()) {
          // Text with <__media__> markers becomes text and image segments, as mtmd splits it.
          std::vector<std::filesystem::path> images(o->images.begin(), o->images.end());
          spec.inputs = tessel::split_media_prompt(o->prompt, images, o->mmproj);
        }
        if (o->no_bos)
          for (auto& seg : spec.inputs)
            if (seg.adapter == "tokens") seg.params["add_special"] = "false";
        if (!o->embd.empty()) {
          tessel::InputSegment e;
          e.adapter = "embeddings";
          e.file = o->embd;
          spec.inputs.push_back(e);
        }
        spec.runtime.threads = o->threads;
        spec.runtime.n_ctx = o->ctx;
        spec.runtime.n_batch = o->batch;
        spec.runtime.flash_attn = o->flash_attn;
        spec.runtime.kv_f16 = !o->kv_f32;
        spec.output = o->out;
        spec.plugin_paths.assign(o->plugin_paths.begin(), o->plugin_paths.end());
        return tessel::run_task(spec);
      };
    }};

}  // namespace
