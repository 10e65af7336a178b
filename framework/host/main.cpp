// The `tessel` host: parses the command line and runs one subcommand. Every
// error reaches the user as one line on stderr and a non-zero exit; usage
// errors point to `tessel SUB --help`.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <new>
#include <stdexcept>

#include "command.hpp"
#include "llama_compat.hpp"
#include "tessel/error.hpp"
#include "tessel/log.hpp"
#include "version_info.hpp"

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

namespace {

// llama.cpp's one-dash spellings (-ngl, -sys) renamed to the long names CLI11 knows.
std::vector<std::string> normalized_args(int argc, char** argv) {
  const auto& spellings = tessel::host::llama_spellings();
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const auto it = std::find_if(spellings.begin(), spellings.end(), [&](const auto& s) { return s.first == argv[i]; });
    args.push_back(it == spellings.end() ? argv[i] : it->second);
  }
  std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tessel::host;
  CLI::App app{"tessel — modular runtime for GGUF language models on the CPU", "tessel"};
  app.add_flag_callback("--version", [] {
    std::cout << version_text();
    throw CLI::Success();
  }, "Print the version, commit, compiler and the SIMD kernels this CPU gets, then exit");
  bool verbose = false;
  app.add_flag("--verbose", verbose, "Log which plugin and kernel path each step uses (stderr)");
  bool log_disable = false;
  app.add_flag("--log-disable", log_disable, "No informational lines on stderr (seed, timings, notes); errors still print");
  app.require_subcommand(1);
  // A flag given twice: the last one counts, as in llama.cpp's tools (a retyped
  // command with one more --temp appended still runs). Subcommands inherit this.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.failure_message(CLI::FailureMessage::simple);

  auto list = commands();
  std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->name < b->name; });
  std::map<CLI::App*, Runner> runners;
  try {
    for (const Command* c : list) {
      CLI::App* sub = app.add_subcommand(c->name, c->summary);
      runners[sub] = c->setup(*sub);
      // --verbose works after the subcommand too (tessel generate ... --verbose).
      // -v too where the subcommand has no -v of its own (llama.cpp's -v, --verbose).
      if (!sub->get_option_no_throw("--verbose"))
        sub->add_flag(sub->get_option_no_throw("-v") ? "--verbose" : "-v,--verbose", verbose,
                      "Log plugins and kernel paths");
      if (!sub->get_option_no_throw("--log-disable"))
        sub->add_flag("--log-disable", log_disable, "No informational lines on stderr (errors still print)");
    }
  } catch (const std::exception& e) {
    std::cerr << "tessel: internal error while setting up commands: " << e.what() << "\n";
    return 70;
  }

  // The subcommand named on the command line, if any (for error messages).
  std::string sub_name;
  if (argc > 1 && argv[1][0] != '-') {
    sub_name = argv[1];
    const auto known = app.get_subcommands([&](const CLI::App* a) { return a->get_name() == sub_name; });
    if (known.empty()) {
      std::cerr << "tessel: unknown command " << sub_name << " (see tessel --help for the list)\n";
      return 2;
    }
  }
  const std::string help = sub_name.empty() ? "tessel --help" : "tessel " + sub_name + " --help";

  try {
    std::vector<std::string> args = normalized_args(argc, argv);
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << (sub_name.empty() ? "tessel: " : "tessel " + sub_name + ": ") << e.what() << " (see " << help
              << ")\n";
    return 2;
  }
  tessel::set_verbose(verbose);
  tessel::set_quiet(log_disable);

  for (auto& [sub, run] : runners) {
    if (!sub->parsed()) continue;
    const std::string where = "tessel " + sub->get_name();
    try {
      std::cout.flush();
      return run();
    } catch (const UsageError& e) {
      std::cout.flush();
      std::cerr << where << ": " << e.what() << " (see " << where << " --help)\n";
      return 2;
    } catch (const tessel::Error& e) {
      std::cout.flush();
      std::cerr << where << ": error: " << e.what() << "\n";
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
