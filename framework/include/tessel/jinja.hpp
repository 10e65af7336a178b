#pragma once
// Chat templates in Jinja: renders a model's own tokenizer.chat_template the way
// llama.cpp's `--jinja` path does (common/chat.cpp over common/jinja), byte for
// byte — the same whitespace rules, value printing, message normalisation,
// capability probes and BOS/EOS stripping. A template tessel cannot run fails
// with one line naming the construct and its line.
//
//   tessel::ChatTemplate tmpl(source);               // parses once; throws tessel::Error
//   tessel::ChatTemplateOptions opt;                 // bos/eos, add_generation_prompt, extra globals
//   std::string prompt = tmpl.render(messages, opt); // messages: [{"role":..,"content":..}, ...]
//
// Rendering is const and thread-safe: one ChatTemplate may serve many requests.
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace tessel {

struct ChatTemplateOptions {
  bool add_generation_prompt = true;
  std::string bos_token = "<s>";   // the `bos_token` / `eos_token` globals
  std::string eos_token = "</s>";
  // llama.cpp drops a leading bos_token when the vocabulary adds BOS itself
  // (tokenizer.ggml.add_bos_token), and a trailing eos_token when it adds EOS.
  bool strip_bos = true;
  bool strip_eos = false;
  bool enable_thinking = true;
  // llama.cpp's default chat_template_kwargs {"preserve_reasoning": true}: sets
  // preserve_thinking and clears clear_/drop_thinking, truncate_history_thinking.
  bool preserve_reasoning = true;
  // More globals, e.g. {"tools": [...]} or chat_template_kwargs; they override the defaults.
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
  std::time_t now = 0;  // strftime_now / date_string clock; 0 = the current time
};

// What llama.cpp's probes find a template able to take; the chat layer adapts
// messages to it (a system message merged into the next one, string content
// turned into [{"type":"text",...}] parts, ...).
struct ChatTemplateCaps {
  bool system_role = true;
  bool string_content = true;
  bool typed_content = false;
  // Reads a tool call's arguments as an object: OpenAI's JSON string is parsed
  // before rendering (llama.cpp's supports_object_arguments).
  bool object_arguments = false;
};

class ChatTemplate {
 public:
  explicit ChatTemplate(std::string source);  // throws tessel::Error on a syntax error

  // `messages`: an array of OpenAI-style messages (role, content as a string or
  // [{type: text, text}] parts, optional reasoning_content, name, tool_call_id,
  // tool_calls), or an object holding one under "messages". Throws tessel::Error
  // naming the message, or the template construct and line that failed.
  std::string render(const nlohmann::ordered_json& messages, const ChatTemplateOptions& opt = {}) const;
  std::string render(const nlohmann::json& messages, const ChatTemplateOptions& opt = {}) const;

  const std::string& source() const;
  const ChatTemplateCaps& caps() const;

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
};

// A message's content parts as one string: text parts joined by newlines,
// none around media markers ({"type": "media_marker", "text": ...}), other
// parts left out (llama.cpp's concat of content parts for string-only templates).
std::string concat_content_parts(const nlohmann::ordered_json& parts);

// One-shot: parse `source` and render.
std::string render_chat_template(const std::string& source, const nlohmann::ordered_json& messages,
                                 const ChatTemplateOptions& opt = {});

// Fuzzing entry point (libFuzzer's LLVMFuzzerTestOneInput contract): the bytes
// are split at the first NUL into a template and a messages JSON document (a
// default conversation when absent), parsed and rendered; tessel::Error is
// swallowed, anything else (a crash, an uncaught exception) is a finding.
int chat_template_fuzz_one(const uint8_t* data, size_t size);

}  // namespace tessel
