#pragma once
// Built-in chat templates with llama.cpp's exact output (src/llama-chat.cpp's
// llm_chat_apply_template) and its `auto` detection from a GGUF's
// tokenizer.chat_template (llm_chat_detect_template's substring heuristics).
// These are the fallback: by default a model's own template is rendered by the
// Jinja engine (tessel/jinja.hpp), see resolve_chat_format.
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tessel/jinja.hpp"
#include "tessel/metadata.hpp"
#include "tessel/tokenizer.hpp"

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

// How chat turns become a prompt: the model's (or a file's) Jinja template, a
// built-in formatter, or none (the text as is).
struct ChatFormat {
  std::string name;  // "jinja", a built-in name (chatml, llama2, ...), or "none"
  std::string origin;  // where the template came from, for messages
  std::shared_ptr<const ChatTemplate> jinja;
  ChatTemplateOptions options;  // BOS/EOS strings and stripping, from the tokenizer

  std::string apply(std::span<const ChatMessage> chat, bool add_generation_prompt) const;
};

// Resolves the chat format as llama.cpp's tools do (--jinja, their default):
//   template_file set         → that Jinja file;
//   option "auto" or "jinja"  → the model's tokenizer.chat_template through the
//                               Jinja engine; without one, llama.cpp's chatml template;
//   option "none"             → none; a built-in name → that formatter.
// BOS/EOS come from `tok` (its special tokens' text and add_bos/add_eos), or are
// empty without one. Throws tessel::Error naming the template and the option.
ChatFormat resolve_chat_format(const std::string& option, const std::string& template_file,
                               const Metadata& meta, const Tokenizer* tok);

}  // namespace tessel
