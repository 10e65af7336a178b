#pragma once
// Everything a task loads from a pipeline's model section, in the order every
// task needs it: the plugins, the file (quantized on load when
// spec.model.quantize says so), its tokenizer, the codecs and the model.
// Shared by the generate, embed, score and chat tasks and tessel::Session.
#include <memory>

#include "tessel/pipeline.hpp"

namespace tessel {

struct LoadedPipeline {
  std::shared_ptr<Registry> reg;
  std::shared_ptr<ModelFile> file;
  std::shared_ptr<Tokenizer> tok;  // null when not required and the file has none
  std::shared_ptr<CodecSet> codecs;
  std::shared_ptr<Model> model;
};

enum class TokenizerNeed { Required, IfPresent, None };

LoadedPipeline load_pipeline_model(const PipelineSpec& spec, TokenizerNeed tokenizer = TokenizerNeed::Required);

}  // namespace tessel
