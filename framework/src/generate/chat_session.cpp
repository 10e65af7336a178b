// tessel::ChatSession: the conversation is re-rendered in full every turn (a
// template may format earlier turns depending on later ones), and only the
// tokens past the common prefix with the KV cache are decoded. When the new
// prompt diverges inside the cached tokens (a /regen drops the last reply, a
// template rewrites history) only the cells after the common prefix are
// dropped (Context::truncate_seq), so a /regen decodes one token, not the
// whole conversation.
#include "tessel/chat_session.hpp"

#include <algorithm>

#include "generate.hpp"
#include "tessel/error.hpp"
#include "tessel/loaded_pipeline.hpp"

namespace tessel {

struct ChatSession::Impl : LoadedPipeline {
  PipelineSpec spec;
  std::unique_ptr<Context> ctx;
  ChatFormat format;
  std::vector<ChatMessage> history;
  std::vector<TokenId> cached;  // the tokens in the KV cache, in order

  ChatTurnResult generate_reply(std::ostream& out, const std::atomic<bool>* cancel) {
    const std::string prompt = format.apply(history, true);
    EncodeOptions eo;
    eo.add_special = true;
    eo.parse_special = true;
    const std::vector<TokenId> ids = tok->encode(prompt, eo);
    size_t common = 0;
    while (common < ids.size() && common < cached.size() && ids[common] == cached[common]) ++common;
    // At least one token must be decoded for fresh logits, and nothing after
    // the prefix may stay in the cache (cached[i] sits at position i).
    if (common == ids.size() && common > 0) --common;
    if (common < cached.size()) {
      ctx->truncate_seq(0, int32_t(common));
      cached.resize(common);
    }
    ChatTurnResult t;
    t.n_reused = common;
    t.n_prompt = ids.size() - common;
    if (int64_t(ids.size()) >= int64_t(ctx->n_ctx())) {
      t.context_full = true;
      return t;
    }
    const auto chunks = generate::token_prompt(std::vector<TokenId>(ids.begin() + std::ptrdiff_t(common), ids.end()));
    const generate::Result r =
        generate::run(*model, *ctx, *tok, chunks, spec.generate, spec.runtime.n_batch, out, cancel);
    cached = ids;
    const size_t in_cache = size_t(std::max(0, ctx->n_past(0))) - ids.size();
    cached.insert(cached.end(), r.tokens.begin(), r.tokens.begin() + std::ptrdiff_t(std::min(in_cache, r.tokens.size())));
    t.text = r.text;
    t.n_generated = r.tokens.size();
    t.cancelled = r.reason == generate::StopReason::Cancelled;
    t.context_full = r.reason == generate::StopReason::ContextFull;
    t.prompt_ms = r.prompt_ms;
    t.gen_ms = r.gen_ms;
    history.push_back({"assistant", r.text});
    return t;
  }
};

ChatSession::ChatSession(const PipelineSpec& spec) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.spec = spec;
  static_cast<LoadedPipeline&>(s) = load_pipeline_model(spec);
  s.ctx = s.model->new_context(spec.runtime);
  s.format = resolve_chat_format(spec.generate.chat_template, spec.generate.chat_template_file, s.file->meta,
                                 s.tok.get());
  if (s.format.name == "none") throw Error("chat: needs a chat template, but --chat-template is none");
  clear();
}

ChatSession::~ChatSession() = default;

ChatTurnResult ChatSession::send(const std::string& user, std::ostream& out, const std::atomic<bool>* cancel) {
  impl_->history.push_back({"user", user});
  return impl_->generate_reply(out, cancel);
}

ChatTurnResult ChatSession::regenerate(std::ostream& out, const std::atomic<bool>* cancel) {
  auto& h = impl_->history;
  if (h.empty() || h.back().role != "assistant") throw Error("chat: there is no reply to regenerate yet");
  h.pop_back();
  return impl_->generate_reply(out, cancel);
}

void ChatSession::clear() {
  impl_->history.clear();
  if (!impl_->spec.generate.system.empty()) impl_->history.push_back({"system", impl_->spec.generate.system});
  impl_->ctx->clear();
  impl_->cached.clear();
}

const ChatFormat& ChatSession::format() const { return impl_->format; }
const std::vector<ChatMessage>& ChatSession::history() const { return impl_->history; }
size_t ChatSession::cached_tokens() const { return impl_->cached.size(); }

}  // namespace tessel
