#pragma once
// A multi-turn conversation with one model, kept in its KV cache: each turn
// renders the whole conversation through the chat format, tokenizes it, and
// decodes only the tokens after the longest prefix already in the cache (as
// llama.cpp's chat tools do), then streams the reply.
#include <atomic>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "tessel/chat.hpp"
#include "tessel/config.hpp"

namespace tessel {

struct ChatTurnResult {
  std::string text;          // the reply as printed
  size_t n_reused = 0;       // prompt tokens already in the KV cache
  size_t n_prompt = 0;       // prompt tokens decoded for this turn
  size_t n_generated = 0;
  bool cancelled = false;    // stopped by the cancel flag (Ctrl-C)
  bool context_full = false;
  double prompt_ms = 0, gen_ms = 0;
};

class ChatSession {
 public:
  // Loads the model of spec.model with spec.runtime; the chat format from
  // spec.generate.chat_template(_file); spec.generate.system opens the history.
  explicit ChatSession(const PipelineSpec& spec);
  ~ChatSession();

  // Adds a user message and streams the assistant's reply to `out`. A set
  // `cancel` flag ends the reply early (it is kept, as far as it got).
  ChatTurnResult send(const std::string& user, std::ostream& out, const std::atomic<bool>* cancel = nullptr);
  // Drops the last reply (its KV cells only) and generates it again. Throws when there is none.
  ChatTurnResult regenerate(std::ostream& out, const std::atomic<bool>* cancel = nullptr);
  // Forgets the conversation (the system message stays) and the cache.
  void clear();

  const ChatFormat& format() const;
  const std::vector<ChatMessage>& history() const;
  size_t cached_tokens() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessel
