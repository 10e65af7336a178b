#pragma once
// Plugin kind "tokenizer": a TokenizerFactory builds a Tokenizer from a model
// file's tokenizer.* metadata. Must match llama.cpp token for token.
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tessel/plugin.hpp"
#include "tessel/tensor.hpp"
#include "tessel/types.hpp"

namespace tessel {

struct EncodeOptions {
  bool add_special = true;     // BOS/EOS/SEP as the model's metadata asks
  bool parse_special = false;  // split control/user-defined tokens out of text
};

struct DecodeOptions {
  bool remove_special = false;   // drop BOS/EOS... from the output
  bool unparse_special = false;  // print control tokens' text
};

// -1 when a model has no such token.
struct SpecialTokens {
  TokenId bos = -1, eos = -1, eot = -1, eom = -1, pad = -1, sep = -1, cls = -1,
          mask = -1, unk = -1, nl = -1;
  bool add_bos = false, add_eos = false, add_sep = false;
};

// llama.cpp's token attribute bits (llama_token_attr).
enum TokenAttr : uint32_t {
  kAttrUndefined = 0, kAttrUnknown = 1 << 0, kAttrUnused = 1 << 1, kAttrNormal = 1 << 2,
  kAttrControl = 1 << 3, kAttrUserDefined = 1 << 4, kAttrByte = 1 << 5,
  kAttrNormalized = 1 << 6, kAttrLstrip = 1 << 7, kAttrRstrip = 1 << 8, kAttrSingleWord = 1 << 9,
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<TokenId> encode(std::string_view text, EncodeOptions opts = {}) const = 0;
  virtual std::string decode(std::span<const TokenId> ids, DecodeOptions opts = {}) const = 0;
  // The text one token stands for (byte tokens as their byte, ▁ as space).
  virtual std::string piece(TokenId id) const = 0;
  // The vocabulary string as stored in the file.
  virtual std::string token_text(TokenId id) const = 0;
  virtual uint32_t attributes(TokenId id) const = 0;
  virtual size_t vocab_size() const = 0;
  virtual const SpecialTokens& special() const = 0;
  virtual bool is_eog(TokenId id) const = 0;  // end of generation: eos, eot, eom...
};

class TokenizerFactory : public PluginObject {
 public:
  // Throws tessel::Error naming the file and key when the metadata is unusable.
  virtual std::unique_ptr<Tokenizer> create(const ModelFile& file) const = 0;
};

}  // namespace tessel
