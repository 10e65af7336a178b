// Text segments are tokenized as llama.cpp's tools tokenize prompts:
// add_special (BOS, and EOS where the model asks) only for the first segment
// of a prompt, parse_special so control tokens written in the text are
// recognised. params: "add_special" / "parse_special" = true|false override.
#include "tokens.hpp"

#include <string>

#include "tessel/error.hpp"

namespace tessel::inputs {
namespace {

bool flag(const InputSegment& seg, const std::string& key, bool def) {
  auto it = seg.params.find(key);
  if (it == seg.params.end()) return def;
  if (it->second == "true" || it->second == "1") return true;
  if (it->second == "false" || it->second == "0") return false;
  throw Error("tokens input: parameter " + key + " = '" + it->second +
              "' is not a boolean (true or false)");
}

class TokensAdapter : public InputAdapter {
 public:
  std::vector<BatchChunk> adapt(const InputSegment& seg, const AdapterContext& ctx) const override {
    check_params(seg, {"parse_special", "add_special"});
    BatchChunk chunk;
    if (!seg.ids.empty()) {
      if (!seg.text.empty())
        throw Error("tokens input: give either text or token ids, not both");
      chunk.tokens = seg.ids;
    } else {
      if (!ctx.tokenizer)
        throw Error("tokens input: the text \"" + seg.text.substr(0, 40) +
                    "\" needs a tokenizer, but the model has none");
      EncodeOptions eo;
      eo.add_special = flag(seg, "add_special", ctx.first_segment && ctx.add_special);
      eo.parse_special = flag(seg, "parse_special", ctx.parse_special);
      chunk.tokens = ctx.tokenizer->encode(seg.text, eo);
    }
    int64_t n_vocab = 0;
    if (ctx.model) n_vocab = ctx.model->hparams().n_vocab;
    else if (ctx.tokenizer) n_vocab = int64_t(ctx.tokenizer->vocab_size());
    if (n_vocab > 0)
      for (TokenId id : chunk.tokens)
        if (id < 0 || id >= n_vocab)
          throw Error("tokens input: token id " + std::to_string(id) +
                      " is out of range (n_vocab " + std::to_string(n_vocab) + ")");
    std::vector<BatchChunk> out;
    if (!chunk.tokens.empty()) out.push_back(std::move(chunk));
    return out;
  }
};

}  // namespace

std::unique_ptr<InputAdapter> make_tokens_adapter() { return std::make_unique<TokensAdapter>(); }

}  // namespace tessel::inputs
