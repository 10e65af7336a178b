// `tessel generate -m MODEL -p PROMPT [...]`: text generation with llama.cpp's
// flag names. Builds the same PipelineSpec a config's `task: generate` gives
// and runs it through tessel::run_task, so both paths share every line.
//
// As llama-cli / llama-completion: the prompt comes from -p TEXT, -p - (standard
// input) or -f FILE; escapes (\n, \t, ...) are processed unless --no-escape; the
// prompt is echoed before the continuation (--no-display-prompt hides it); the
// seed is random unless --seed fixes it, and the one used is printed on stderr.
#include <cstdint>
#include <iostream>
#include <limits>

#include "command.hpp"
#include "llama_compat.hpp"
#include "tessel/chat.hpp"
#include "tessel/config.hpp"
#include "tessel/error.hpp"
#include "tessel/log.hpp"
#include "tessel/prompt.hpp"
#include "tessel/sampler.hpp"
#include "text_args.hpp"

namespace {

struct Options {
  tessel::PipelineSpec spec;
  std::string model, prompt, prompt_file, system_file;
  int64_t seed = -1;
  bool escape = true, no_escape = false, no_display_prompt = false;
  bool conversation = false, no_conversation = false, single_turn = false;
  tessel::host::LlamaCompat compat;
  std::vector<std::string> plugin_paths, images, reverse_prompts;
  std::string mmproj;
};

std::string template_help() {
  std::string names;
  for (const std::string& n : tessel::chat_template_names()) names += (names.empty() ? "" : ", ") + n;
  return "Chat template (implies --chat): auto (from the model), none, or a llama.cpp built-in name: " + names;
}

// The prompt text from -p / -p - / -f, with escapes processed as llama.cpp does.
std::string resolve_prompt(const Options& o, bool from_p, bool from_f) {
  if (!from_p && !from_f)
    throw tessel::host::UsageError("give the prompt with -p TEXT, -p - (standard input) or -f FILE");
  if (from_p && from_f) throw tessel::host::UsageError("-p and -f both give the prompt: use one of them");
  std::string text = from_f             ? tessel::host::read_prompt_file(o.prompt_file, "-f")
                     : o.prompt == "-" ? tessel::host::read_prompt_file("-", "-p")
                                        : o.prompt;
  return o.escape && !o.no_escape ? tessel::host::process_escapes(text) : text;
}

tessel::host::Command generate_cmd{
    "generate", "Generate text from a prompt (llama-cli / llama-completion flags)", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      auto& s = o->spec;
      auto& g = s.generate;
      auto& sp = g.sampler;
      app.add_option("-m,--model", o->model, "Model: a GGUF file or a Hugging Face checkpoint folder")->required();
      auto* p = app.add_option("-p,--prompt", o->prompt, "Prompt text ('-': read it from standard input)");
      auto* f = app.add_option("-f,--file", o->prompt_file, "File holding the prompt (one trailing newline dropped)");
      app.add_flag("-e,--escape", o->escape, "Process escapes (\\n, \\r, \\t, \\', \\\", \\\\, \\xNN) in the prompt and "
                                               "stop strings (default: on)");
      app.add_flag("--no-escape", o->no_escape, "Take the prompt and stop strings literally");
      app.add_flag("--no-display-prompt", o->no_display_prompt, "Print only the continuation, not the prompt first");
      app.add_option("-n,--n-predict,--predict", g.max_tokens, "Tokens to generate (-1: until EOS or a full context)")
          ->capture_default_str();
      app.add_option("--temp,--temperature", sp.temperature, "Temperature (<= 0: greedy)")->capture_default_str();
      app.add_option("--top-k", sp.top_k, "Top-k (<= 0: off)")->capture_default_str();
      app.add_option("--top-p", sp.top_p, "Top-p (1: off)")->capture_default_str();
      app.add_option("--min-p", sp.min_p, "Min-p (0: off)")->capture_default_str();
      app.add_option("--typical,--typical-p", sp.typical_p, "Locally typical p (1: off)")->capture_default_str();
      app.add_option("--repeat-penalty", sp.repeat_penalty, "Repetition penalty (1: off)")->capture_default_str();
      app.add_option("--repeat-last-n", sp.repeat_last_n, "Tokens the penalties look back on (-1: context)")
          ->capture_default_str();
      app.add_option("--frequency-penalty", sp.frequency_penalty, "Frequency penalty (0: off)")
          ->capture_default_str();
      app.add_option("--presence-penalty", sp.presence_penalty, "Presence penalty (0: off)")
          ->capture_default_str();
      app.add_option("-s,--seed", o->seed, "Sampling seed (-1: random, printed on stderr)")->capture_default_str();
      app.add_flag("--chat", g.chat, "Wrap the prompt as a user turn with the chat template");
      auto* cnv = app.add_flag("--conversation", o->conversation,
                               "(-cnv) Chat mode for one turn, as --chat (tessel chat holds a conversation)");
      auto* no_cnv = app.add_flag("--no-conversation", o->no_conversation,
                                  "(-no-cnv) Plain completion: no chat template, even with -sys");
      auto* single = app.add_flag("--single-turn", o->single_turn, "(-st) Chat mode for one turn, as --chat");
      cnv->excludes(no_cnv);
      single->excludes(no_cnv);
      auto* tmpl = app.add_option("--chat-template", g.chat_template, template_help())->capture_default_str();
      app.add_option("--system-prompt,--system", g.system, "System message (-sys; implies chat mode)");
      auto* sysf = app.add_option("--system-prompt-file", o->system_file, "File holding the system message (-sysf)");
      app.add_option("-r,--reverse-prompt,--stop", o->reverse_prompts,
                     "Stop at this text, not printing it (repeatable)");
      auto* tmplf = app.add_option("--chat-template-file", g.chat_template_file,
                                   "Jinja chat template file to use instead of the model's (implies --chat)");
      app.add_flag("--ignore-eos", g.ignore_eos, "Never sample end-of-generation tokens");
      app.add_option("-t,--threads", s.runtime.threads, "Threads (0: all cores)")->capture_default_str();
      app.add_option("--type", s.model.quantize, "Quantize the weights at load to a preset (Q8_0, Q4_K_M, ...)");
      app.add_option("-c,--ctx-size", s.runtime.n_ctx, "Context size (0: from the model, at most 4096)")
          ->capture_default_str();
      app.add_option("-b,--batch-size", s.runtime.n_batch, "Prompt tokens per forward pass")
          ->capture_default_str();
      o->compat.add_runtime_options(app);
      o->compat.add_ignored_model_options(app);
      o->compat.add_ignored_flag(app, "--jinja", "--jinja",
                                 "tessel renders the model's Jinja template already (--chat-template auto)");
      o->compat.add_ignored_option(app, "--color", "-co", "tessel prints plain text")->expected(0, 1);
      app.add_option("--image", o->images,
                     "Image for a <__media__> marker in the prompt (repeatable; needs --mmproj)");
      app.add_option("--mmproj", o->mmproj, "Multimodal projector (GGUF) for --image");
      app.add_option("--plugin-path", o->plugin_paths, "Extra folder to search for plugins");
      return [o, p, f, tmpl, tmplf, sysf]() {
        tessel::PipelineSpec spec = o->spec;
        spec.source = "command line";
        spec.task = "generate";
        spec.model.path = o->model;
        o->compat.apply("generate", spec.runtime);
        const bool escape = o->escape && !o->no_escape;
        const std::string prompt = resolve_prompt(*o, p->count() > 0, f->count() > 0);
        if (sysf->count()) spec.generate.system = tessel::host::read_prompt_file(o->system_file, "-sysf");
        if (escape) spec.generate.system = tessel::host::process_escapes(spec.generate.system);
        for (const std::string& r : o->reverse_prompts)
          spec.generate.stop.push_back(escape ? tessel::host::process_escapes(r) : r);
        // llama-cli: naming a template means chatting with it.
        if (tmpl->count() && spec.generate.chat_template != "none") spec.generate.chat = true;
        if (tmplf->count()) spec.generate.chat = true;
        if (!spec.generate.system.empty() && spec.generate.chat_template != "none") spec.generate.chat = true;
        // llama-completion's -cnv / -st: a chat turn (-cnv alone would go on interactively there).
        if (o->conversation || o->single_turn) spec.generate.chat = true;
        if (o->conversation && !o->single_turn && !tessel::quiet())
          std::cerr << "tessel generate: -cnv: one chat turn (as -st); tessel chat holds a conversation\n";
        if (o->no_conversation) spec.generate.chat = false;
        spec.generate.display_prompt = !o->no_display_prompt;
        if (o->seed == -1) spec.generate.sampler.seed = tessel::kRandomSeed;
        else if (o->seed < 0 || o->seed > int64_t(std::numeric_limits<uint32_t>::max()))
          throw tessel::Error("--seed " + std::to_string(o->seed) + " is out of range: expected -1 (random) or 0..4294967295");
        else spec.generate.sampler.seed = uint64_t(o->seed);
        spec.model.mmproj = o->mmproj;
        if (o->images.empty() && o->mmproj.empty()) {
          tessel::InputSegment seg;
          seg.adapter = "tokens";
          seg.text = prompt;
          spec.inputs.push_back(seg);
        } else {
          // Text and images in prompt order, as llama.cpp's mtmd-cli splits on its marker
          // (a marker without an image is refused there, not fed to the model as text).
          std::vector<std::filesystem::path> images(o->images.begin(), o->images.end());
          spec.inputs = tessel::split_media_prompt(prompt, images, o->mmproj);
        }
        spec.plugin_paths.assign(o->plugin_paths.begin(), o->plugin_paths.end());
        return tessel::run_task(spec);
      };
    }};

}  // namespace
