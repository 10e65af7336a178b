// `tessel run CONFIG [--set key.sub=value]...`: runs any pipeline config.
#include <cstdio>

#include "command.hpp"
#include "tessel/config.hpp"

namespace {

struct Options {
  std::string config;
  std::vector<std::string> sets;
  bool check = false;
};

tessel::host::Command run_cmd{
    "run", "Run a YAML pipeline config (configs/*.yaml)", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("config", o->config, "Pipeline config file")->required();
      app.add_option("--set", o->sets, "Override a config value: key.sub=value (repeatable)");
      app.add_flag("--check", o->check, "Only load and validate the config");
      return [o]() {
        tessel::PipelineSpec spec = tessel::load_pipeline(o->config, o->sets);
        if (o->check) {
          std::printf("%s: ok (task %s, model %s)\n", o->config.c_str(), spec.task.c_str(),
                      spec.model.path.string().c_str());
          return 0;
        }
        return tessel::run_task(spec);
      };
    }};

}  // namespace
