// `tessel similarity -m MODEL -p A -p B ...`: embeds every text (the embed
// task's code, default pooling and euclidean normalization) and prints the
// cosine similarity matrix, one row per text.
#include <cstdio>
#include <iostream>

#include "command.hpp"
#include "tessel/config.hpp"
#include "tessel/embedding.hpp"
#include "tessel/error.hpp"

namespace {

struct Options {
  tessel::PipelineSpec spec;
  std::string model, file, task;
  std::vector<std::string> prompts;
  std::vector<std::string> plugin_paths;
};

// At most `n` bytes, cut at a UTF-8 boundary.
std::string label(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "...";
}

tessel::host::Command similarity_cmd{
    "similarity", "Cosine similarity matrix of texts' embeddings", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      auto& s = o->spec;
      app.add_option("-m,--model", o->model, "Model: a GGUF file or a Hugging Face checkpoint folder")->required();
      auto* p = app.add_option("-p,--prompt", o->prompts, "A text (repeat for each)");
      auto* f = app.add_option("-f,--file", o->file, "File with one text per line");
      f->excludes(p);
      app.add_option("--pooling", s.embed.pooling, "auto | mean | cls | last")->capture_default_str();
      app.add_option("--dims", s.embed.dims, "Matryoshka: compare the first N values only")->capture_default_str();
      auto* prefix = app.add_option("--prefix", s.embed.prefix, "Text prepended to every input");
      app.add_option("--task", o->task, "EmbeddingGemma task prompt: query | document")->excludes(prefix);
      app.add_option("-b,--batch-size", s.runtime.n_batch, "Tokens per forward pass")->capture_default_str();
      app.add_option("-t,--threads", s.runtime.threads, "Threads (0: all cores)")->capture_default_str();
      app.add_option("--plugin-path", o->plugin_paths, "Extra folder to search for plugins");
      return [o]() {
        tessel::PipelineSpec spec = o->spec;
        spec.source = "command line";
        spec.task = "embed";
        spec.model.path = o->model;
        spec.embed.normalize = 2;
        if (!o->task.empty()) spec.embed.task = o->task;  // the model's prompt (Model::task_prompt)
        tessel::InputSegment seg;
        seg.adapter = "tokens";
        if (!o->file.empty()) {
          seg.file = o->file;
          spec.inputs.push_back(seg);
        }
        for (const std::string& prompt : o->prompts) {
          seg.text = prompt;
          spec.inputs.push_back(seg);
        }
        if (spec.inputs.empty()) throw tessel::Error("similarity: give at least two texts (-p A -p B)");
        if (spec.embed.pooling == "none") throw tessel::Error("similarity: --pooling none gives no single vector per text");
        spec.plugin_paths.assign(o->plugin_paths.begin(), o->plugin_paths.end());
        const tessel::embed::Run run = tessel::embed::run_embeddings(spec, false);
        const size_t n = run.results.size();
        if (n < 2) throw tessel::Error("similarity: give at least two texts (-p A -p B)");
        for (size_t i = 0; i < n; ++i) {
          for (size_t j = 0; j < n; ++j) {
            const auto& a = run.results[i];
            const auto& b = run.results[j];
            std::printf("%s%7.4f", j ? " " : "", double(tessel::embed::cosine_similarity(a.data.data(), b.data.data(), a.cols)));
          }
          std::printf("  %s\n", label(run.texts[i], 40).c_str());
        }
        std::fflush(stdout);
        return 0;
      };
    }};

}  // namespace
