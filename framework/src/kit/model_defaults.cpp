// Model's default text entry points: a model without them (a vision
// projector) inherits these instead of writing throwing stubs.
#include "tessel/architecture.hpp"
#include "tessel/error.hpp"

namespace tessel {

std::unique_ptr<Context> Model::new_context(const RuntimeOptions&) const {
  throw Error(hparams().arch + ": this model does not run text batches (no context)");
}

void Model::forward(const Batch&, Context&, Outputs&) {
  throw Error(hparams().arch + ": this model does not run text batches (no forward)");
}

void Model::embed_tokens(std::span<const TokenId>, float*) const {
  throw Error(hparams().arch + ": this model has no token embeddings");
}

}  // namespace tessel

namespace tessel {

std::string Model::task_prompt(const std::string& task) const {
  throw Error("--task '" + task + "': the " + hparams().arch +
              " model has no task prompts (give the text with --prefix)");
}

SynthRecipe Architecture::synth_recipe(const SynthPreset& p) const {
  throw Error("synth: the " + p.arch + " architecture has no synthetic-model recipe");
}

}  // namespace tessel
