#pragma once
// llama.cpp's built-in chat templates beyond the families chat.cpp formats
// itself (mistral-*, phi4, deepseek*, granite*, command-r, ...): apply_chat_template
// falls back to these, so every name llama.cpp lists is accepted.
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tessel/chat.hpp"

namespace tessel::chat_formats {

// `s` without leading and trailing whitespace (llama.cpp's trim, used by several templates).
std::string trim(const std::string& s);

// The template names this file formats.
const std::vector<std::string>& names();

// llama.cpp's string for `chat` in template `name`; nullopt when `name` is not one of names().
std::optional<std::string> apply(const std::string& name, std::span<const ChatMessage> chat, bool add_ass);

}  // namespace tessel::chat_formats
