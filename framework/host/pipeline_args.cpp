#include "pipeline_args.hpp"

namespace tessel::host {

void PipelineArgs::add_plugin_options(CLI::App& app) {
  app.add_option("--arch", spec.architecture, "Architecture plugin (auto)");
  app.add_option("--tokenizer", spec.tokenizer, "Tokenizer plugin (auto)");
  app.add_option("--plugin-path", plugin_paths, "Extra folder to search for plugins");
}

PipelineSpec PipelineArgs::finish(const char* task) const {
  PipelineSpec s = spec;
  s.source = "command line";
  s.task = task;
  s.model.path = model;
  s.plugin_paths.assign(plugin_paths.begin(), plugin_paths.end());
  return s;
}

}  // namespace tessel::host
