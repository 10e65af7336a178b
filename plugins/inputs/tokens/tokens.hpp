#pragma once
// The "tokens" input adapter: text through the model's tokenizer, or
// explicit token ids, as one token chunk.
#include <memory>

#include "tessel/input.hpp"

namespace tessel::inputs {

std::unique_ptr<InputAdapter> make_tokens_adapter();

}  // namespace tessel::inputs
