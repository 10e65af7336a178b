#pragma once
// Built-in chat templates with llama.cpp's exact output (src/llama-chat.cpp's
// llm_chat_apply_template) and its `auto` detection from a GGUF's
// tokenizer.chat_template (llm_chat_detect_template's substring heuristics).
// Not a Jinja engine: a template is recognised, then formatted by hand.
#include <span>
#include <string>
#include <vector>

#include "tessel/metadata.hpp"

namespace tessel {

struct ChatMessage {
  std::string role;     // system | user | assistant
  std::string content;
};

// The templates tessel formats: llama2, llama2-sys, chatml, zephyr, gemma, llama3, phi3.
const std::vector<std::string>& chat_template_names();

// llama.cpp's name for a Jinja template source (or a template name), "" when
// llama.cpp would not recognise it. May name a template tessel does not format.
std::string detect_chat_template(const std::string& source);

// Resolves generate.chat_template: "auto" reads tokenizer.chat_template from
// `meta` (a model without one gets chatml, as llama.cpp does), "none" returns
// "none", a built-in name returns itself. Throws tessel::Error naming the option
// (--chat-template NAME / generate.chat_template) when nothing fits.
std::string resolve_chat_template(const std::string& option, const Metadata& meta);

// Formats `chat` with the built-in template `name`; add_generation_prompt opens
// the assistant's turn. Throws tessel::Error for an unknown name.
std::string apply_chat_template(const std::string& name, std::span<const ChatMessage> chat,
                                bool add_generation_prompt);

}  // namespace tessel
