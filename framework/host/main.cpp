// The `tessel` host: parses the command line and runs one subcommand. Every
// error reaches the user as one line on stderr and a non-zero exit.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <new>
#include <stdexcept>

#include "command.hpp"
#include "tessel/error.hpp"

namespace tessel::host {

std::vector<const Command*>& commands() {
  static std::vector<const Command*> list;
  return list;
}

Command::Command(std::string n, std::string s, Setup f)
    : name(std::move(n)), summary(std::move(s)), setup(std::move(f)) {
  commands().push_back(this);
}

}  // namespace tessel::host

int main(int argc, char** argv) {
  using namespace tessel::host;
  CLI::App app{"tessel — modular runtime for GGUF language models on the CPU", "tessel"};
  app.set_version_flag("--version", std::string("tessel ") + TESSEL_VERSION);
  app.require_subcommand(1);
  app.failure_message(CLI::FailureMessage::simple);

  auto list = commands();
  std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->name < b->name; });
  std::map<CLI::App*, Runner> runners;
  try {
    for (const Command* c : list) {
      CLI::App* sub = app.add_subcommand(c->name, c->summary);
      runners[sub] = c->setup(*sub);
    }
  } catch (const std::exception& e) {
    std::cerr << "tessel: internal error while setting up commands: " << e.what() << "\n";
    return 70;
  }

  // llama.cpp's multi-letter single-dash flags (CLI11 can't name them): their long forms.
  static const std::map<std::string, const char*> kDashAliases = {{"-np", "--parallel"}};
  for (int i = 1; i < argc; ++i)
    if (auto it = kDashAliases.find(argv[i]); it != kDashAliases.end()) argv[i] = const_cast<char*>(it->second);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << "tessel: " << e.what() << " (see tessel --help)\n";
    return 2;
  }

  for (auto& [sub, run] : runners) {
    if (!sub->parsed()) continue;
    try {
      std::cout.flush();
      return run();
    } catch (const tessel::Error& e) {
      std::cout.flush();
      std::cerr << "tessel " << sub->get_name() << ": error: " << e.what() << "\n";
      return 1;
    } catch (const std::bad_alloc&) {
      std::cerr << "tessel " << sub->get_name()
                << ": error: out of memory (a size in the input or the options is larger than this machine can hold)\n";
      return 1;
    } catch (const std::length_error& e) {
      // std::vector's "cannot create std::vector larger than max_size()": a size
      // read from a file or flag that no check caught.
      std::cerr << "tessel " << sub->get_name() << ": error: a size in the input or options is too large ("
                << tessel::Error(e.what()).what() << ")\n";
      return 1;
    } catch (const std::exception& e) {
      std::cerr << "tessel " << sub->get_name() << ": internal error: " << tessel::Error(e.what()).what() << "\n";
      return 70;
    } catch (...) {
      // A plugin may throw anything; letting it escape main would abort().
      std::cerr << "tessel " << sub->get_name()
                << ": internal error: an exception that is not a std::exception (thrown by a plugin?)\n";
      return 70;
    }
  }
  return 2;
}
