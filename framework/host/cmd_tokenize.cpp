// `tessel tokenize`: text to token ids with a model's tokenizer, as llama.cpp
// would produce them.
//
//   tessel tokenize -m MODEL (-p TEXT | -f FILE | --stdin) [--ids|--pieces|--json]
//                   [--no-bos] [--no-parse-special] [--no-escape] [--show-count]
//   tessel tokenize -m MODEL --suite FILE.inp [--parse-special]
//
// As llama-tokenize: control-token text (<s>, <|im_start|>) becomes those
// tokens (as `generate` feeds them), escapes in the text are processed, BOS /
// EOS / SEP are added unless --no-bos, and --show-count ends with the total.
//
// --suite reads llama.cpp's tokenizer suite format (cases separated by
// "\n__ggml_vocab_test__\n") and prints the matching .out format: one line per
// case, every id preceded by a space, encoded with add_special=false and
// parse_special=false (unless --parse-special), like tests/test-tokenizer-0.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "command.hpp"
#include "tessel/error.hpp"
#include "tessel/pipeline.hpp"
#include "text_args.hpp"

namespace {

struct Options {
  std::string model, prompt, file, suite, tokenizer = "auto";
  bool ids = false, pieces = false, json = false, no_bos = false, parse_special = false, no_parse_special = false;
  bool escape = true, no_escape = false, show_count = false, from_stdin = false;
  std::vector<std::string> plugin_paths;
};

// llama.cpp's read_tests: split on the separator; the text after the last
// separator (if any) is one more case, an empty tail is not.
std::vector<std::string> split_suite(const std::string& raw) {
  static const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> cases;
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      cases.push_back(raw.substr(pos));
      break;
    }
    cases.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  return cases;
}

int run(const Options& o) {
  std::vector<std::filesystem::path> extra(o.plugin_paths.begin(), o.plugin_paths.end());
  auto reg = tessel::make_registry(extra);
  auto file = tessel::open_model_file(*reg, o.model);
  auto tok = tessel::make_tokenizer(*reg, file, o.tokenizer);

  if (!o.suite.empty()) {
    tessel::EncodeOptions eo{false, o.parse_special};
    std::string out;
    for (const std::string& c : split_suite(tessel::host::read_text_file(o.suite, "--suite"))) {
      for (tessel::TokenId id : tok->encode(c, eo)) out += " " + std::to_string(id);
      out += "\n";
    }
    std::cout << out;
    return 0;
  }

  // A file is read verbatim (a trailing newline is a token too), as llama-tokenize does.
  std::string text = o.from_stdin      ? tessel::host::read_text_file("-", "--stdin")
                     : !o.file.empty() ? tessel::host::read_text_file(o.file, "-f")
                     : o.prompt == "-" ? tessel::host::read_text_file("-", "-p")
                                       : o.prompt;
  if (o.escape && !o.no_escape) text = tessel::host::process_escapes(text);
  tessel::EncodeOptions eo{!o.no_bos, !o.no_parse_special};
  const std::vector<tessel::TokenId> ids = tok->encode(text, eo);

  if (o.json) {
    nlohmann::json j;
    j["ids"] = ids;
    nlohmann::json pieces = nlohmann::json::array();
    for (auto id : ids) pieces.push_back(tok->piece(id));
    j["pieces"] = pieces;
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (o.ids) {
    std::string s = "[";
    for (size_t i = 0; i < ids.size(); ++i) s += (i ? ", " : "") + std::to_string(ids[i]);
    std::cout << s << "]\n";
  } else if (o.pieces) {
    for (auto id : ids) std::cout << tok->piece(id) << "\n";
  } else {
    for (auto id : ids) {
      std::string n = std::to_string(id);
      std::cout << std::string(n.size() < 6 ? 6 - n.size() : 0, ' ') << n << " -> '"
                << tok->piece(id) << "'\n";
    }
  }
  if (o.show_count) std::cout << "Total number of tokens: " << ids.size() << "\n";
  return 0;
}

tessel::host::Command tokenize_cmd{
    "tokenize", "Turn text into token ids with a model's tokenizer", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("-m,--model", o->model, "Model: a GGUF file or a Hugging Face checkpoint folder")->required();
      auto* p = app.add_option("-p,--prompt", o->prompt, "Text to tokenize ('-': standard input)");
      auto* f = app.add_option("-f,--file", o->file, "File with the text to tokenize, read verbatim ('-': stdin)");
      auto* in = app.add_flag("--stdin", o->from_stdin, "Read the text from standard input");
      auto* s = app.add_option("--suite", o->suite,
                               "llama.cpp tokenizer suite (.inp); prints the .out format");
      p->excludes(f)->excludes(s)->excludes(in);
      f->excludes(s)->excludes(in);
      s->excludes(in);
      auto* ids = app.add_flag("--ids", o->ids, "Print the ids as a list: [1, 2, 3]");
      auto* pieces = app.add_flag("--pieces", o->pieces, "Print each token's text, one per line");
      auto* json = app.add_flag("--json", o->json, "Print {\"ids\": [...], \"pieces\": [...]}");
      ids->excludes(pieces)->excludes(json);
      pieces->excludes(json);
      app.add_flag("--show-count", o->show_count, "End with the number of tokens");
      app.add_flag("--no-bos", o->no_bos, "Do not add the model's special tokens (BOS/EOS/SEP)");
      app.add_flag("--no-parse-special", o->no_parse_special,
                   "Tokenize control-token text (e.g. <s>) as plain text");
      app.add_flag("--parse-special", o->parse_special,
                   "With --suite: turn control-token text into those tokens (-p/-f always do)");
      app.add_flag("-e,--escape", o->escape, "Process \\n, \\t, ... in the text (default: on)");
      app.add_flag("--no-escape", o->no_escape, "Take \\n, \\t, ... in the text literally");
      app.add_option("--tokenizer", o->tokenizer, "Tokenizer plugin name, or auto");
      app.add_option("--plugin-path", o->plugin_paths, "Extra folder to search for plugins");
      return [o, p, f, s, in]() {
        // -p "" is a valid (empty) prompt, so ask CLI11 what was given.
        if (p->count() + f->count() + s->count() + in->count() == 0)
          throw tessel::host::UsageError("give the text with -p TEXT, -f FILE, --stdin or --suite FILE.inp");
        return run(*o);
      };
    }};

}  // namespace
