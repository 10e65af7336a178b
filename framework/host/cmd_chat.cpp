// `tessel chat -m MODEL`: an interactive conversation. Each line on stdin is a
// user turn; the reply streams to stdout. The history stays in the KV cache, so
// a turn decodes only its new tokens.
//
//   /exit (or end of input)   leave        /clear   start over (the system message stays)
//   /regen                    a new answer to the last message
//   Ctrl-C                    stop the reply being written; at the prompt, leave
//
// As the new llama-cli: -p TEXT (or -f FILE) is the first message, -st ends
// after its reply, -sys / -sysf give the system message.
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <random>

#include "command.hpp"
#include "llama_compat.hpp"
#include "tessel/chat_session.hpp"
#include "tessel/error.hpp"
#include "text_args.hpp"

namespace {

std::atomic<bool> g_interrupt{false};

extern "C" void on_sigint(int) { g_interrupt.store(true); }

struct Options {
  tessel::PipelineSpec spec;
  std::string model;
  int64_t seed = 42;
  bool verbose = false, single_turn = false, no_escape = false;
  std::string first, first_file, system_file;
  std::vector<std::string> plugin_paths;
  tessel::host::LlamaCompat compat;
};

// Reads one line; false at end of input or on Ctrl-C at the prompt.
bool read_line(std::string& line) {
  line.clear();
  while (true) {
    char c;
    const ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n == 1) {
      if (c == '\n') return true;
      line += c;
      continue;
    }
    if (n < 0 && errno == EINTR && !g_interrupt.load()) continue;
    return n == 0 && !line.empty() && !g_interrupt.load();  // a last line without a newline
  }
}

void report(const tessel::ChatTurnResult& t, bool verbose) {
  if (!t.text.empty() && t.text.back() != '\n') std::cout << "\n";
  std::cout.flush();
  if (t.cancelled) std::cerr << "[reply stopped]\n";
  if (t.context_full)
    std::cerr << "chat: the context is full; /clear to start over, or raise -c\n";
  if (verbose)
    std::cerr << "chat: reused " << t.n_reused << " cached tokens, decoded " << t.n_prompt << " prompt tokens in "
              << t.prompt_ms << " ms, generated " << t.n_generated << " in " << t.gen_ms << " ms\n";
}

int run(Options& o) {
  tessel::PipelineSpec spec = o.spec;
  spec.source = "command line";
  spec.task = "generate";
  spec.model.path = o.model;
  if (o.seed < 0) spec.generate.sampler.seed = uint64_t(std::random_device{}());
  else spec.generate.sampler.seed = uint64_t(o.seed);
  spec.plugin_paths.assign(o.plugin_paths.begin(), o.plugin_paths.end());
  o.compat.apply("chat", spec.runtime);
  auto text = [&](const std::string& t) { return o.no_escape ? t : tessel::host::process_escapes(t); };
  if (!o.system_file.empty()) spec.generate.system = tessel::host::read_prompt_file(o.system_file, "-sysf");
  spec.generate.system = text(spec.generate.system);
  std::string first = o.first_file.empty() ? text(o.first) : tessel::host::read_prompt_file(o.first_file, "-f");
  if (o.single_turn && first.empty())
    throw tessel::host::UsageError("-st answers the message given with -p TEXT or -f FILE: give one");
  tessel::ChatSession session(spec);

  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: Ctrl-C at the prompt interrupts the read
  sigaction(SIGINT, &sa, nullptr);

  const bool tty = ::isatty(STDIN_FILENO);
  if (tty)
    std::cerr << "chat: " << o.model << " (" << session.format().name
              << " template). /exit, /clear, /regen; Ctrl-C stops a reply.\n";
  std::string line;
  while (true) {
    g_interrupt.store(false);
    if (!first.empty()) {
      line = std::move(first);
      first.clear();
      if (tty) std::cerr << "> " << line << "\n";
    } else {
      if (o.single_turn) break;
      if (tty) std::cerr << "> " << std::flush;
      if (!read_line(line)) break;
    }
    if (line == "/exit" || line == "/quit") break;
    if (line == "/clear") {
      session.clear();
      std::cerr << "[conversation cleared]\n";
      continue;
    }
    if (line.empty()) continue;
    try {
      const auto t = line == "/regen" ? session.regenerate(std::cout, &g_interrupt)
                                      : session.send(line, std::cout, &g_interrupt);
      report(t, o.verbose);
    } catch (const tessel::Error& e) {
      std::cout.flush();
      std::cerr << "error: " << e.what() << "\n";
    }
  }
  if (tty) std::cerr << "\n";
  return 0;
}

tessel::host::Command chat_cmd{
    "chat", "Chat with a model interactively (its own chat template, history in the KV cache)",
    [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      auto& g = o->spec.generate;
      auto& sp = g.sampler;
      g.max_tokens = -1;
      o->spec.runtime.n_ctx = 0;
      app.add_option("-m,--model", o->model, "Model file (GGUF)")->required();
      app.add_option("--system,--system-prompt", g.system, "System message (-sys)");
      app.add_option("--system-prompt-file", o->system_file, "File holding the system message (-sysf)");
      auto* p = app.add_option("-p,--prompt", o->first, "First message (then the conversation goes on from stdin)");
      app.add_option("-f,--file", o->first_file, "File holding the first message")->excludes(p);
      app.add_flag("--single-turn", o->single_turn, "(-st) Answer the -p message, then exit");
      app.add_flag("--no-escape", o->no_escape, "Take \\n, \\t, ... in -p and -sys literally");
      o->compat.add_ignored_flag(app, "--conversation", "-cnv", "tessel chat is always a conversation");
      o->compat.add_ignored_flag(app, "--jinja", "--jinja",
                                 "tessel renders the model's Jinja template already (--chat-template auto)");
      app.add_option("-n,--n-predict", g.max_tokens, "Tokens per reply at most (-1: until the model stops)")
          ->capture_default_str();
      app.add_option("--chat-template", g.chat_template,
                     "auto (the model's Jinja template, else chatml) | jinja | llama2 | chatml | zephyr | gemma | "
                     "llama3 | phi3")
          ->capture_default_str();
      app.add_option("--chat-template-file", g.chat_template_file, "Jinja chat template file to use instead");
      app.add_option("--temp", sp.temperature, "Temperature (<= 0: greedy)")->capture_default_str();
      app.add_option("--top-k", sp.top_k, "Top-k (<= 0: off)")->capture_default_str();
      app.add_option("--top-p", sp.top_p, "Top-p (1: off)")->capture_default_str();
      app.add_option("--min-p", sp.min_p, "Min-p (0: off)")->capture_default_str();
      app.add_option("--repeat-penalty", sp.repeat_penalty, "Repetition penalty (1: off)")->capture_default_str();
      app.add_option("-s,--seed", o->seed, "Sampling seed (-1: random)")->capture_default_str();
      app.add_option("-t,--threads", o->spec.runtime.threads, "Threads (0: all cores)")->capture_default_str();
      app.add_option("-c,--ctx-size", o->spec.runtime.n_ctx, "Context size (0: from the model, at most 4096)")
          ->capture_default_str();
      app.add_option("-b,--batch-size", o->spec.runtime.n_batch, "Prompt tokens per forward pass")
          ->capture_default_str();
      o->compat.add_runtime_options(app);
      o->compat.add_ignored_model_options(app);
      app.add_flag("-v,--verbose", o->verbose, "Print cache reuse and timings after each reply");
      app.add_option("--plugin-path", o->plugin_paths, "Extra folder to search for plugins");
      return [o] { return run(*o); };
    }};

}  // namespace
