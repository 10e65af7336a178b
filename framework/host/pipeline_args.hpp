#pragma once
// What the subcommands that build a PipelineSpec from flags share: the model
// path, the plugin choices (--arch, --tokenizer, --plugin-path) and turning
// them into the spec a config file would give.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "tessel/config.hpp"

namespace tessel::host {

struct PipelineArgs {
  PipelineSpec spec;  // the subcommand's own flags fill it
  std::string model;
  std::vector<std::string> plugin_paths;

  // --arch, --tokenizer, --plugin-path
  void add_plugin_options(CLI::App& app);
  // `spec` for `task` from the command line: model path and plugin folders set.
  PipelineSpec finish(const char* task) const;
};

}  // namespace tessel::host
