// `tessel embed -m MODEL (-p TEXT ... | -f FILE) [...]`: sentence embeddings
// with llama-embedding's flag names (--pooling, --embd-normalize,
// --embd-output-format json|json+|array|raw|'' , --embd-separator). Builds the
// PipelineSpec a config's `task: embed` gives and runs it through
// tessel::run_task. Escapes in -p are processed (a "\n" starts another text,
// as in llama-embedding); -f - reads the texts from standard input.
#include <cstdint>

#include "command.hpp"
#include "llama_compat.hpp"
#include "pipeline_args.hpp"
#include "tessel/config.hpp"
#include "tessel/embedding.hpp"
#include "tessel/error.hpp"
#include "text_args.hpp"

namespace {

struct Options : tessel::host::PipelineArgs {
  std::string file, format, task, ids, separator = "\n";
  std::vector<std::string> prompts;
  bool escape = true, no_escape = false;
  tessel::host::LlamaCompat compat;
};

// One text per line of standard input; a trailing '\r' goes, empty lines are skipped
// (what the embed task does with a file).
std::vector<std::string> stdin_lines() {
  const std::string all = tessel::host::read_text_file("-", "-f");
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < all.size()) {
    size_t nl = all.find('\n', start);
    if (nl == std::string::npos) nl = all.size();
    std::string line = all.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(std::move(line));
    start = nl + 1;
  }
  return lines;
}

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
      throw tessel::Error("--ids: '" + item + "' is not a token id (expected e.g. --ids 1,346,2)");
    }
    i = j + 1;
  }
  if (ids.empty()) throw tessel::Error("--ids: no token ids given");
  return ids;
}

tessel::host::Command embed_cmd{
    "embed", "Embed texts (llama-embedding-style flags)", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      auto& s = o->spec;
      auto& e = s.embed;
      app.add_option("-m,--model", o->model, "Model: a GGUF file or a Hugging Face checkpoint folder")->required();
      auto* p = app.add_option("-p,--prompt", o->prompts,
                               "Text to embed (repeatable; a newline inside starts another text, as in llama-embedding)");
      auto* f = app.add_option("-f,--file", o->file, "File with one text per line (empty lines skipped; '-': standard input)");
      auto* ids = app.add_option("--ids", o->ids, "One input as comma-separated token ids, used verbatim");
      f->excludes(p);
      ids->excludes(p);
      ids->excludes(f);
      app.add_option("--pooling", e.pooling, "auto | none | mean | cls | last | rank (auto: the model's)")
          ->capture_default_str();
      app.add_option("--embd-normalize", e.normalize,
                     "-1 none, 0 max-abs (int16 range), 1 taxicab, 2 euclidean, >2 p-norm")
          ->capture_default_str();
      auto* format = app.add_option("--embd-output-format,--format", o->format,
                                    "jsonl (default) | json (OpenAI style) | json+ (json and the cosine similarity "
                                    "matrix) | array ([[...],...]) | raw (one row per line) | npy (needs -o) | txt | "
                                    "'' or text (llama-embedding's default display: 'embedding N: ...' lines and "
                                    "the cosine similarity matrix)");
      app.add_option("--embd-separator", o->separator,
                     "What separates texts in a -p (default: a newline), e.g. '<#sep#>'");
      app.add_flag("--truncate", e.truncate,
                   "Cut texts longer than the context (or batch) to fit, keeping the closing SEP/EOS, "
                   "as sentence-transformers does; without it a long text is an error");
      app.add_flag("-e,--escape", o->escape, "Process escapes (\\n, \\t, ...) in -p texts (default: on)");
      app.add_flag("--no-escape", o->no_escape, "Take \\n, \\t, ... in -p texts literally");
      app.add_option("-o,--output", e.out_path, "Output file (default: stdout; npy needs one)");
      app.add_option("--dims", e.dims, "Matryoshka: keep the first N values, then normalize (0: all)")
          ->capture_default_str();
      auto* prefix = app.add_option("--prefix", e.prefix, "Text prepended to every input");
      auto* task = app.add_option("--task", o->task,
                                  "EmbeddingGemma task prompt: query (\"task: search result | query: \") "
                                  "or document (\"title: none | text: \")");
      task->excludes(prefix);
      app.add_option("-b,--batch-size", s.runtime.n_batch, "Tokens per forward pass (texts share it)")
          ->capture_default_str();
      app.add_option("-t,--threads", s.runtime.threads, "Threads (0: all cores)")->capture_default_str();
      app.add_option("--type", s.model.quantize, "Quantize the weights at load to a preset (Q8_0, Q4_K_M, ...)");
      app.add_option("-c,--ctx-size", s.runtime.n_ctx, "Context size (0: the model's training context)")
          ->capture_default_str();
      o->compat.add_runtime_options(app);
      o->compat.add_ignored_model_options(app);
      o->add_plugin_options(app);
      return [o, format]() {
        tessel::PipelineSpec spec = o->finish("embed");
        o->compat.apply("embed", spec.runtime);
        // llama-embedding's --embd-output-format '' (its default) is its text display.
        if (format->count()) spec.embed.output = o->format.empty() ? "text" : o->format;
        if (!o->task.empty()) spec.embed.task = o->task;  // the model's prompt (Model::task_prompt)
        tessel::InputSegment seg;
        seg.adapter = "tokens";
        if (o->file == "-") {
          for (std::string& line : stdin_lines()) {
            seg.text = std::move(line);
            spec.inputs.push_back(seg);
          }
        } else if (!o->file.empty()) {
          seg.file = o->file;
          spec.inputs.push_back(seg);
        } else if (!o->ids.empty()) {
          seg.ids = parse_ids(o->ids);
          spec.inputs.push_back(seg);
        } else {
          const bool escape = o->escape && !o->no_escape;
          const std::string sep = escape ? tessel::host::process_escapes(o->separator) : o->separator;
          if (sep.empty()) throw tessel::host::UsageError("--embd-separator is empty: give the text between texts");
          for (std::string prompt : o->prompts) {
            if (escape) prompt = tessel::host::process_escapes(prompt);
            size_t start = 0;
            while (true) {
              const size_t end = prompt.find(sep, start);
              seg.text = prompt.substr(start, end == std::string::npos ? std::string::npos : end - start);
              if (!seg.text.empty() && seg.text.back() == '\r') seg.text.pop_back();
              // Blank lines separate texts, as in -f files; they are not texts themselves.
              if (!seg.text.empty()) spec.inputs.push_back(seg);
              if (end == std::string::npos) break;
              start = end + sep.size();
            }
          }
        }
        if (spec.inputs.empty())
          throw tessel::host::UsageError(o->prompts.empty() ? "give texts (-p TEXT, -f FILE, -f - or --ids 1,2,3)"
                                                            : "-p holds no text (empty or only blank lines)");
        return tessel::run_task(spec);
      };
    }};

}  // namespace
