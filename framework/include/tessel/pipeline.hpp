#pragma once
// Glue every subcommand shares: open a model file through a format plugin,
// build its tokenizer, gather codecs, load its architecture — each `auto`
// choice resolved from the file's metadata.
#include <filesystem>
#include <memory>
#include <string>

#include "tessel/architecture.hpp"
#include "tessel/codec.hpp"
#include "tessel/config.hpp"
#include "tessel/format.hpp"
#include "tessel/registry.hpp"
#include "tessel/tokenizer.hpp"

namespace tessel {

// A registry with every plugin in the default search paths (plus `extra`) loaded.
std::shared_ptr<Registry> make_registry(const std::vector<std::filesystem::path>& extra = {});

// `format` is a format plugin name or "auto" (the first plugin whose can_open is true).
std::shared_ptr<ModelFile> open_model_file(Registry& reg, const std::filesystem::path& path,
                                           const std::string& format = "auto");
// open_model_file, then (when spec.quantize names a llama-quantize preset)
// every weight quantized in memory through the codecs with llama-quantize's
// per-tensor choices: a BF16 checkpoint runs at quantized speed without a
// conversion step.
std::shared_ptr<ModelFile> open_model(Registry& reg, const ModelSpec& spec, int threads = 1);
// The tensors of `file` converted to `preset`; the result keeps `file` alive.
std::shared_ptr<ModelFile> quantize_model_file(const std::shared_ptr<ModelFile>& file, const std::string& preset,
                                               const CodecSet& codecs, int threads);

// The format plugin that writes files of `format` ("gguf").
std::shared_ptr<WeightFormat> writer_for(Registry& reg, const std::string& format = "gguf");

// `name` is a tokenizer plugin name or "auto" (tokenizer.ggml.model).
std::shared_ptr<Tokenizer> make_tokenizer(Registry& reg, const std::shared_ptr<ModelFile>& file,
                                          const std::string& name = "auto");
// Every codec from every codec plugin.
std::shared_ptr<CodecSet> load_codecs(Registry& reg);
// `name` is an architecture plugin name or "auto" (general.architecture).
std::shared_ptr<Model> load_model(Registry& reg, const std::shared_ptr<ModelFile>& file,
                                  const std::shared_ptr<CodecSet>& codecs,
                                  const RuntimeOptions& opts, const std::string& name = "auto");

}  // namespace tessel
