#pragma once
// Subcommands register themselves from their own file:
//
//   static tessel::host::Command inspect_cmd{"inspect", "Show a model file",
//     [](CLI::App& app) {
//       auto o = std::make_shared<Options>();
//       app.add_option("model", o->path)->required();
//       return [o] { ...; return 0; };
//     }};
//
// The setup function adds the subcommand's options and returns the function
// that runs it. main() turns a tessel::Error into one line on stderr and exit 1.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "tessel/error.hpp"

namespace tessel::host {

// A command-line mistake found after parsing (no prompt given, two sources of
// one thing): main() prints it with a pointer to `tessel SUB --help`, exit 2.
struct UsageError : tessel::Error {
  using tessel::Error::Error;
};

using Runner = std::function<int()>;
using Setup = std::function<Runner(CLI::App&)>;

struct Command {
  Command(std::string name, std::string summary, Setup setup);
  std::string name, summary;
  Setup setup;
};

std::vector<const Command*>& commands();

}  // namespace tessel::host
