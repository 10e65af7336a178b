#pragma once
// The "gemma3" architecture (general.architecture = gemma3): Gemma 3's causal
// text model, the language half of the Gemma 3 multimodal pipeline; with
// `encoder`, "gemma-embedding" (EmbeddingGemma) on the same graph.
#include <memory>

#include "tessel/architecture.hpp"

namespace tessel::gemma3 {

std::unique_ptr<Architecture> make_architecture(bool encoder);

}  // namespace tessel::gemma3
