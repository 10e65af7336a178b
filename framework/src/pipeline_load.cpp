// load_pipeline_model (tessel/loaded_pipeline.hpp): the one loading sequence the
// generate, embed, score and chat tasks and the program API share.
#include "tessel/loaded_pipeline.hpp"

namespace tessel {

LoadedPipeline load_pipeline_model(const PipelineSpec& spec, TokenizerNeed tokenizer) {
  LoadedPipeline p;
  p.reg = make_registry(spec.plugin_paths);
  p.file = open_model(*p.reg, spec.model, spec.runtime.threads);
  const bool want_tokenizer = tokenizer == TokenizerNeed::Required ||
                              (tokenizer == TokenizerNeed::IfPresent && p.file->meta.has("tokenizer.ggml.model"));
  if (want_tokenizer) p.tok = make_tokenizer(*p.reg, p.file, spec.tokenizer);
  p.codecs = load_codecs(*p.reg);
  p.model = load_model(*p.reg, p.file, p.codecs, spec.runtime, spec.architecture);
  return p;
}

}  // namespace tessel
