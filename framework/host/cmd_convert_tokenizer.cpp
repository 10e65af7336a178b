// `tessel convert-tokenizer tokenizer.json OUT.gguf [--config tokenizer_config.json]`
//
// Writes a vocab-only GGUF from a Hugging Face tokenizer.json; the import
// itself (tessel/hf_tokenizer.hpp) is shared with the safetensors format.
#include <filesystem>
#include <iostream>

#include "command.hpp"
#include "tessel/error.hpp"
#include "tessel/hf_tokenizer.hpp"
#include "tessel/pipeline.hpp"

namespace {

namespace fs = std::filesystem;

struct Options {
  std::string input, output, config;
  bool no_config = false;
  std::vector<std::string> plugin_paths;
};

tessel::host::Command convert_tokenizer_cmd{
    "convert-tokenizer", "Import a Hugging Face tokenizer.json into GGUF tokenizer metadata",
    [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("input", o->input, "tokenizer.json (BPE: SentencePiece style or byte-level; WordPiece)")
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
        tessel::Metadata meta = tessel::import_hf_tokenizer(o->input, o->no_config ? fs::path() : config);
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
