// `tessel generate -m MODEL -p PROMPT [...]`: text generation with llama.cpp's
// flag names. Builds the same PipelineSpec a config's `task: generate` gives
// and runs it through tessel::run_task, so both paths share every line.
#include <cstdint>
#include <limits>

#include "command.hpp"
#include "tessel/config.hpp"
#include "tessel/error.hpp"
#include "tessel/prompt.hpp"
#include "tessel/sampler.hpp"

namespace {

struct Options {
  tessel::PipelineSpec spec;
  std::string model, prompt;
  int64_t seed = 42;
  std::vector<std::string> plugin_paths, images;
  std::string mmproj;
};

tessel::host::Command generate_cmd{
    "generate", "Generate text from a prompt (llama.cpp-style flags)", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      auto& s = o->spec;
      auto& g = s.generate;
      auto& sp = g.sampler;
      o->seed = int64_t(sp.seed);
      app.add_option("-m,--model", o->model, "Model file (GGUF)")->required();
      app.add_option("-p,--prompt", o->prompt, "Prompt text")->required();
      app.add_option("-n,--n-predict", g.max_tokens, "Tokens to generate (-1: until EOS or a full context)")
          ->capture_default_str();
      app.add_option("--temp", sp.temperature, "Temperature (<= 0: greedy)")->capture_default_str();
      app.add_option("--top-k", sp.top_k, "Top-k (<= 0: off)")->capture_default_str();
      app.add_option("--top-p", sp.top_p, "Top-p (1: off)")->capture_default_str();
      app.add_option("--min-p", sp.min_p, "Min-p (0: off)")->capture_default_str();
      app.add_option("--typical", sp.typical_p, "Locally typical p (1: off)")->capture_default_str();
      app.add_option("--repeat-penalty", sp.repeat_penalty, "Repetition penalty (1: off)")->capture_default_str();
      app.add_option("--repeat-last-n", sp.repeat_last_n, "Tokens the penalties look back on (-1: context)")
          ->capture_default_str();
      app.add_option("--frequency-penalty", sp.frequency_penalty, "Frequency penalty (0: off)")
          ->capture_default_str();
      app.add_option("--presence-penalty", sp.presence_penalty, "Presence penalty (0: off)")
          ->capture_default_str();
      app.add_option("-s,--seed", o->seed, "Sampling seed (-1: random)")->capture_default_str();
      app.add_flag("--chat", g.chat, "Wrap the prompt as a user turn with the chat template");
      app.add_option("--chat-template", g.chat_template,
                     "auto (the model's Jinja template, else chatml) | jinja | none | llama2 | llama2-sys | "
                     "chatml | zephyr | gemma | llama3 | phi3")
          ->capture_default_str();
      app.add_option("--chat-template-file", g.chat_template_file,
                     "Jinja chat template file to use instead of the model's");
      app.add_option("--system", g.system, "System message (chat mode)");
      app.add_option("--stop", g.stop, "Stop at this text, not printing it (repeatable)");
      app.add_flag("--ignore-eos", g.ignore_eos, "Never sample end-of-generation tokens");
      app.add_option("-t,--threads", s.runtime.threads, "Threads (0: all cores)")->capture_default_str();
      app.add_option("--type", s.model.quantize, "Quantize the weights at load to a preset (Q8_0, Q4_K_M, ...)");
      app.add_option("-c,--ctx-size", s.runtime.n_ctx, "Context size (0: from the model, at most 4096)")
          ->capture_default_str();
      app.add_option("-b,--batch-size", s.runtime.n_batch, "Prompt tokens per forward pass")
          ->capture_default_str();
      app.add_option("--image", o->images,
                     "Image for a <__media__> marker in the prompt (repeatable; needs --mmproj)");
      app.add_option("--mmproj", o->mmproj, "Multimodal projector (GGUF) for --image");
      app.add_option("--plugin-path", o->plugin_paths, "Extra folder to search for plugins");
      return [o]() {
        tessel::PipelineSpec spec = o->spec;
        spec.source = "command line";
        spec.task = "generate";
        spec.model.path = o->model;
        if (o->seed == -1) spec.generate.sampler.seed = tessel::kRandomSeed;
        else if (o->seed < 0 || o->seed > int64_t(std::numeric_limits<uint32_t>::max()))
          throw tessel::Error("--seed " + std::to_string(o->seed) + " is out of range: expected -1 (random) or 0..4294967295");
        else spec.generate.sampler.seed = uint64_t(o->seed);
        spec.model.mmproj = o->mmproj;
        if (o->images.empty() && o->mmproj.empty()) {
          tessel::InputSegment seg;
          seg.adapter = "tokens";
          seg.text = o->prompt;
          spec.inputs.push_back(seg);
        } else {
          // Text and images in prompt order, as llama.cpp's mtmd-cli splits on its marker
          // (a marker without an image is refused there, not fed to the model as text).
          std::vector<std::filesystem::path> images(o->images.begin(), o->images.end());
          spec.inputs = tessel::split_media_prompt(o->prompt, images, o->mmproj);
        }
        spec.plugin_paths.assign(o->plugin_paths.begin(), o->plugin_paths.end());
        return tessel::run_task(spec);
      };
    }};

}  // namespace
