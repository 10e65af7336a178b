// `tessel convert-tokenizer tokenizer.json OUT.gguf [--config tokenizer_config.json]`
//
// Reads the files and writes the GGUF; the conversion itself is
// tessel::import_tokenizer_json (framework/src/vocab/tokenizer_json.cpp).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "command.hpp"
#include "tessel/error.hpp"
#include "tessel/output_file.hpp"
#include "tessel/pipeline.hpp"
#include "tessel/tokenizer_json.hpp"

namespace {

namespace fs = std::filesystem;

struct Options {
  std::string input, output, config;
  bool no_config = false;
  std::vector<std::string> plugin_paths;
};

std::string read_file(const fs::path& p) {
  tessel::note_input(p);
  std::ifstream in(p, std::ios::binary);
  if (!in) throw tessel::Error(p.string() + ": cannot open for reading");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

tessel::host::Command convert_tokenizer_cmd{
    "convert-tokenizer", "Import a Hugging Face tokenizer.json into GGUF tokenizer metadata",
    [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("input", o->input, "tokenizer.json (BPE with byte fallback, SentencePiece style)")
          ->required();
      app.add_option("output", o->output, "GGUF file to write")->required();
      app.add_option("--config", o->config,
                     "tokenizer_config.json (default: the one next to the input, if any)");
      app.add_flag("--no-config", o->no_config, "Ignore tokenizer_config.json");
      app.add_option("--plugin-path", o->plugin_paths, "Extra folder to search for plugins");
      return [o]() {
        fs::path config = o->config;
        if (config.empty() && !o->no_config) {
          fs::path guess = fs::path(o->input).parent_path() / "tokenizer_config.json";
          if (fs::exists(guess)) config = guess;
        }
        if (o->no_config) config.clear();
        tessel::Metadata meta = tessel::import_tokenizer_json(
            read_file(o->input), o->input, config.empty() ? "" : read_file(config), config.string());
        std::vector<std::filesystem::path> extra(o->plugin_paths.begin(), o->plugin_paths.end());
        auto reg = tessel::make_registry(extra);
        auto writer = tessel::writer_for(*reg, "gguf");
        writer->write(o->output, meta, {});
        std::cout << "wrote " << o->output << ": "
                  << meta.get_strings("tokenizer.ggml.tokens").size() << " tokens\n";
        return 0;
      };
    }};

}  // namespace
