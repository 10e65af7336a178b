// `tessel serve -m MODEL [--host H] [--port P] [-np SLOTS] [-c CTX] [-t N]
// [--api-key KEY] [--chat-template-file F]`: the OpenAI-compatible HTTP server
// with llama-server's flag names. Builds the PipelineSpec that a config's
// `task: serve` gives and runs it through tessel::run_task.
#include "command.hpp"
#include "pipeline_args.hpp"
#include "serve/server.hpp"
#include "tessel/config.hpp"

namespace {

// The serve task lives in the host (it links cpp-httplib, which libtessel does not).
tessel::TaskRegistration serve_task("serve", &tessel::serve::run_server);

struct Options : tessel::host::PipelineArgs {
  std::string mmproj;
};

tessel::host::Command serve_cmd{
    "serve", "OpenAI-compatible HTTP server with continuous batching", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      auto& s = o->spec;
      auto& sv = s.serve;
      app.add_option("-m,--model", o->model, "Model file (GGUF)")->required();
      app.add_option("--mmproj", o->mmproj, "Multimodal projector: chat messages may hold images (base64 data URLs)");
      app.add_option("--host", sv.host, "Address to listen on")->capture_default_str();
      app.add_option("--port", sv.port, "Port (0: any free port, printed on stderr)")
          ->capture_default_str()->check(CLI::Range(0, 65535));
      app.add_option("--parallel", sv.slots, "Slots (-np): requests decoded together (the context is split among them)")
          ->capture_default_str()->check(CLI::Range(1, 1024));
      app.add_option("-c,--ctx-size", s.runtime.n_ctx, "Context size of all slots together (0: the model's, at most 4096)")
          ->capture_default_str();
      app.add_option("-b,--batch-size", s.runtime.n_batch, "Rows per forward pass")->capture_default_str()
          ->check(CLI::Range(1, 1 << 20));
      app.add_option("-t,--threads", s.runtime.threads, "Threads (0: all cores)")->capture_default_str();
      app.add_option("--api-key", sv.api_key, "Require 'Authorization: Bearer KEY'");
      app.add_option("--chat-template-file", sv.chat_template_file,
                     "Jinja chat template file to render instead of the model's tokenizer.chat_template");
      app.add_option("--chat-template", s.generate.chat_template,
                     "auto (the model's Jinja template, else chatml) | a built-in template name (llama3, chatml, ...)")
          ->capture_default_str();
      app.add_option("-a,--alias", sv.alias, "Model id in /v1/models (default: the file name)");
      app.add_option("--max-queue", sv.max_queue, "Requests waiting for a slot before 503")->capture_default_str()
          ->check(CLI::Range(0, 1 << 20));
      app.add_option("--max-body", sv.max_body, "Largest request body in bytes (413 above)")->capture_default_str()
          ->check(CLI::Range(int64_t(1), int64_t(1) << 40));
      o->add_plugin_options(app);
      return [o]() {
        tessel::PipelineSpec spec = o->finish("serve");
        spec.model.mmproj = o->mmproj;
        return tessel::run_task(spec);
      };
    }};

}  // namespace
