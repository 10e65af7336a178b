#pragma once
// The "gemma-embedding" architecture (EmbeddingGemma), general.architecture = gemma-embedding.
#include <memory>

#include "tessel/architecture.hpp"

namespace tessel::gemma_embedding {

std::unique_ptr<Architecture> make_architecture();

}  // namespace tessel::gemma_embedding
