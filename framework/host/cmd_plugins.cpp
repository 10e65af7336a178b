// `tessel plugins [--json]`: what the registry found, with kind, name, version and file.
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "tessel/pipeline.hpp"

namespace {

struct Options {
  bool json = false;
  std::vector<std::string> paths;
};

tessel::host::Command plugins_cmd{
    "plugins", "List the plugins tessel can load", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_flag("--json", o->json, "Print a JSON list");
      app.add_option("--plugin-path", o->paths, "Extra folder to search for plugins");
      return [o]() {
        std::vector<std::filesystem::path> extra(o->paths.begin(), o->paths.end());
        auto reg = tessel::make_registry(extra);
        if (o->json) {
          nlohmann::json list = nlohmann::json::array();
          for (const auto& p : reg->plugins())
            list.push_back({{"kind", p.kind}, {"name", p.name}, {"version", p.version},
                            {"summary", p.summary}, {"handles", p.handles}, {"file", p.file.string()}});
          std::cout << list.dump(2) << "\n";
          return 0;
        }
        for (const auto& p : reg->plugins()) {
          std::cout << p.kind << "\t" << p.name << "\t" << p.version << "\t" << p.summary << "\n";
          std::cout << "\t\t" << p.file.string() << "\n";
        }
        if (reg->plugins().empty()) std::cout << "no plugins found\n";
        return 0;
      };
    }};

}  // namespace
