// Vocab::load and the special-token partition, following llama.cpp's
// llama_vocab::impl::load and tokenizer_st_partition (src/llama-vocab.cpp).
#include <algorithm>
#include <cctype>
#include <cstring>
#include <list>

#include "tessel/error.hpp"
#include "tessel/vocab.hpp"

namespace tessel {
namespace {

// GGUF token types (gguf-py TokenType / llama_token_type).
enum : int64_t {
  kTypeUndefined = 0, kTypeNormal = 1, kTypeUnknown = 2, kTypeControl = 3,
  kTypeUserDefined = 4, kTypeUnused = 5, kTypeByte = 6,
};

uint32_t attr_from_type(int64_t t) {
  switch (t) {
    case kTypeUnknown: return kAttrUnknown;
    case kTypeUnused: return kAttrUnused;
    case kTypeNormal: return kAttrNormal;
    case kTypeControl: return kAttrControl;
    case kTypeUserDefined: return kAttrUserDefined;
    case kTypeByte: return kAttrByte;
    default: return kAttrUndefined;
  }
}

std::string where(const Metadata& meta, std::string_view key) {
  return (meta.source.empty() ? std::string("model file") : meta.source) + ": " + std::string(key);
}

// Defaults per tokenizer.ggml.model, as llama.cpp sets them before reading
// keys; the models and their special ids are the plugin's declaration.
void apply_model_defaults(Vocab& v, const Metadata& meta, std::span<const VocabModel> models) {
  auto& s = v.special;
  s = SpecialTokens{};
  const VocabModel* d = nullptr;
  std::string names;
  for (const VocabModel& m : models) {
    if (m.name == v.model) d = &m;
    names += (names.empty() ? "" : ", ") + std::string(m.name);
  }
  if (!d)
    throw Error(where(meta, "tokenizer.ggml.model") + ": unknown tokenizer '" + v.model + "' (this tokenizer reads " +
                (names.empty() ? std::string("none") : names) + ")");
  v.type = d->type;
  s.bos = d->bos, s.eos = d->eos, s.unk = d->unk, s.sep = d->sep, s.pad = d->pad, s.mask = d->mask;
  if (!d->pre.empty()) v.pre = std::string(d->pre);
  switch (v.type) {
    case VocabType::BPE:
      v.add_space_prefix = false; v.escape_whitespaces = false; v.clean_spaces = true;
      break;
    case VocabType::SPM:
      v.add_space_prefix = true; v.clean_spaces = false; s.add_bos = true; s.add_eos = false;
      break;
    case VocabType::WPM:
      v.add_space_prefix = false; v.clean_spaces = true; s.add_bos = true; s.add_eos = false;
      s.add_sep = true;
      break;
    case VocabType::UGM:
      s.add_bos = false; s.add_eos = true;
      break;
    case VocabType::RWKV:
      v.add_space_prefix = false; v.clean_spaces = false; s.add_bos = false; s.add_eos = false;
      break;
    case VocabType::None: break;
  }
}

bool read_bool(const Metadata& meta, std::string_view key, bool& out) {
  const MetaValue* mv = meta.find(key);
  if (!mv) return false;
  if (mv->type == MetaType::BOOL || mv->is_integer()) {
    out = mv->u != 0 || mv->i != 0;
    return true;
  }
  throw Error(where(meta, key) + ": expected a bool, got " + meta_type_name(mv->type));
}

// Special ids: out-of-range defaults are disabled; an out-of-range value in
// the file keeps the default (llama.cpp warns and does the same).
void read_special_ids(Vocab& v, const Metadata& meta) {
  auto& s = v.special;
  const std::pair<const char*, TokenId*> keys[] = {
      {"tokenizer.ggml.bos_token_id", &s.bos},       {"tokenizer.ggml.eos_token_id", &s.eos},
      {"tokenizer.ggml.eot_token_id", &s.eot},       {"tokenizer.ggml.eom_token_id", &s.eom},
      {"tokenizer.ggml.unknown_token_id", &s.unk},   {"tokenizer.ggml.seperator_token_id", &s.sep},
      {"tokenizer.ggml.padding_token_id", &s.pad},   {"tokenizer.ggml.mask_token_id", &s.mask},
      {"tokenizer.ggml.cls_token_id", &s.cls},
      {"tokenizer.ggml.fim_pre_token_id", &v.fim_pre}, {"tokenizer.ggml.fim_suf_token_id", &v.fim_suf},
      {"tokenizer.ggml.fim_mid_token_id", &v.fim_mid}, {"tokenizer.ggml.fim_pad_token_id", &v.fim_pad},
      {"tokenizer.ggml.fim_rep_token_id", &v.fim_rep}, {"tokenizer.ggml.fim_sep_token_id", &v.fim_sep},
      {"tokenizer.ggml.prefix_token_id", &v.fim_pre},  {"tokenizer.ggml.suffix_token_id", &v.fim_suf},
      {"tokenizer.ggml.middle_token_id", &v.fim_mid},
  };
  for (auto [key, id] : keys) {
    if (*id >= 0 && !v.valid(*id)) *id = -1;
    const MetaValue* mv = meta.find(key);
    if (!mv) continue;
    if (!mv->is_integer())
      throw Error(where(meta, key) + ": expected an integer token id, got " + meta_type_name(mv->type));
    if (mv->i >= 0 && uint64_t(mv->i) < v.size()) *id = TokenId(mv->i);
  }
}

// llama.cpp finds EOT/EOM/FIM tokens and the end-of-generation set by text.
void detect_by_text(Vocab& v) {
  auto mark_control = [&](TokenId id) { v.tokens[id].attr |= kAttrControl; };
  auto any_of = [](std::string_view t, std::initializer_list<std::string_view> l) {
    return std::find(l.begin(), l.end(), t) != l.end();
  };
  struct Rule { TokenId* id; std::initializer_list<std::string_view> texts; };
  const Rule rules[] = {
      {&v.special.eot, {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                        "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]",
                        "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
                        "<end_of_utterance>"}},
      {&v.special.eom, {"<|eom_id|>"}},
      {&v.fim_pre, {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
                    "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>", "<PRE>",
                    "\xe2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>"}},
      {&v.fim_suf, {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
                    "<\xef\xbd\x9c" "fim\xe2\x96\x81hole\xef\xbd\x9c>", "<SUF>",
                    "\xe2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>"}},
      {&v.fim_mid, {"<|fim_middle|>", "<fim-middle>", "<fim_middle>",
                    "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>", "<MID>",
                    "\xe2\x96\x81<MID>", "<|code_middle|>", "<|middle|>"}},
      {&v.fim_pad, {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}},
      {&v.fim_rep, {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}},
      {&v.fim_sep, {"<|file_sep|>"}},
  };
  // llama.cpp walks its unordered token map, so when several texts match the
  // first one found wins; we take the lowest id, which is deterministic.
  for (const auto& r : rules) {
    if (*r.id != -1) continue;
    for (TokenId id = 0; id < TokenId(v.size()); ++id)
      if (any_of(v.tokens[id].text, r.texts)) {
        *r.id = id;
        mark_control(id);
        break;
      }
  }
  for (auto& t : v.tokens)
    if ((t.attr & kAttrControl) && t.text.find("unused") != std::string::npos) t.attr |= kAttrUnused;

  v.eog_ids.clear();
  for (TokenId id : {v.fim_pad, v.fim_rep, v.fim_sep})
    if (id != -1) v.eog_ids.insert(id);
  for (TokenId id = 0; id < TokenId(v.size()); ++id) {
    if (any_of(v.tokens[id].text,
               {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
                "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>",
                "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>",
                "<turn|>", "<|tool_response>",
                "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>", "[e~["})) {
      v.eog_ids.insert(id);
      mark_control(id);
    }
  }
  for (auto& t : v.tokens)
    if (any_of(t.text, {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}))
      t.attr = kAttrUserDefined;
  for (TokenId id : {v.special.eos, v.special.eot, v.special.eom})
    if (id != -1) v.eog_ids.insert(id);

  // o200k_harmony / solar-open: <|end|> is not end of generation there.
  auto has = [&](std::string_view t) {
    for (TokenId id : v.eog_ids) if (v.tokens[id].text == t) return id;
    return TokenId(-1);
  };
  TokenId end_id = has("<|end|>");
  bool call = has("<|call|>") != -1 || has("<|calls|>") != -1;
  if (end_id != -1 && ((has("<|return|>") != -1 && call) || (call && has("<|flush|>") != -1))) {
    v.eog_ids.erase(end_id);
    v.tokens[end_id].attr = kAttrUserDefined;
  }
  // gemma4 / paddleocr: </s> is not end of generation next to <|tool_response>.
  TokenId s_id = has("</s>");
  if (s_id != -1 && has("<|tool_response>") != -1) {
    v.eog_ids.erase(s_id);
    v.tokens[s_id].attr = kAttrNormal;
  }
}

// Per-model attribute fixes llama.cpp applies by name (phi-3 rstrip, <mask> lstrip).
void apply_name_attrs(Vocab& v, const Metadata& meta) {
  std::string name = meta.get_string("general.name", "");
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  const std::string arch = meta.get_string("general.architecture", "");
  auto contains = [](const std::string& s, std::initializer_list<std::string_view> subs) {
    for (auto sub : subs) if (s.find(sub) != std::string::npos) return true;
    return false;
  };
  auto set = [&](std::string_view text, uint32_t bit, bool on) {
    TokenId id = v.find(text);
    if (id < 0) return;
    v.tokens[id].attr = on ? (v.tokens[id].attr | bit) : (v.tokens[id].attr & ~bit);
  };
  if (contains(v.pre, {"jina-v2-de", "jina-v2-es", "jina-v2-code"}) ||
      contains(arch, {"nomic-bert-moe", "jina-bert-v3"})) {
    set("<mask>", kAttrLstrip, true);
  } else if (contains(name, {"phi-3", "phi3"})) {
    for (TokenId id : v.special_cache) v.tokens[id].attr |= kAttrRstrip;
    set("</s>", kAttrRstrip, true);
    for (auto t : {"<unk>", "<s>", "<|endoftext|>"}) set(t, kAttrRstrip, false);
  } else if (contains(name, {"modern-bert"})) {
    set("[MASK]", kAttrLstrip, true);
  }
}

}  // namespace

Vocab Vocab::load(const Metadata& meta, std::span<const VocabModel> models, const PreDefaults& pre_defaults) {
  Vocab v;
  v.source = meta.source;
  v.model = meta.get_string("tokenizer.ggml.model");
  v.pre = meta.get_string("tokenizer.ggml.pre", "");
  apply_model_defaults(v, meta, models);
  if (pre_defaults) pre_defaults(v);
  read_bool(meta, "tokenizer.ggml.add_space_prefix", v.add_space_prefix);
  read_bool(meta, "tokenizer.ggml.remove_extra_whitespaces", v.remove_extra_whitespaces);
  if (v.type == VocabType::None) return v;

  const auto& texts = meta.get_strings("tokenizer.ggml.tokens");
  const size_t n = texts.size();
  std::vector<float> scores;
  if (const MetaValue* mv = meta.find("tokenizer.ggml.scores")) {
    if (!mv->is_array() || (mv->elem_type != MetaType::F32 && mv->elem_type != MetaType::I32))
      throw Error(where(meta, "tokenizer.ggml.scores") + ": expected an array of f32 or i32");
    if (mv->count < n)
      throw Error(where(meta, "tokenizer.ggml.scores") + ": " + std::to_string(mv->count) +
                  " scores for " + std::to_string(n) + " tokens");
    scores.resize(n);
    for (size_t i = 0; i < n; ++i) scores[i] = float(mv->number_at(i));
  }
  std::vector<int64_t> types;
  if (const MetaValue* mv = meta.find("tokenizer.ggml.token_type")) {
    if (!mv->is_array() || mv->elem_type != MetaType::I32)
      throw Error(where(meta, "tokenizer.ggml.token_type") + ": expected an array of i32");
    if (mv->count < n)
      throw Error(where(meta, "tokenizer.ggml.token_type") + ": " + std::to_string(mv->count) +
                  " types for " + std::to_string(n) + " tokens");
    types.resize(n);
    for (size_t i = 0; i < n; ++i) types[i] = mv->int_at(i);
  }

  v.tokens.resize(n);
  v.token_to_id.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    auto& t = v.tokens[i];
    t.text = texts[i].empty() ? "[EMPTY_" + std::to_string(i) + "]" : texts[i];
    auto [it, fresh] = v.token_to_id.emplace(t.text, TokenId(i));
    if (!fresh)
      throw Error(where(meta, "tokenizer.ggml.tokens") + ": duplicate token '" + t.text +
                  "' at ids " + std::to_string(it->second) + " and " + std::to_string(i));
    v.max_token_len = std::max(v.max_token_len, int(t.text.size()));
    t.score = scores.empty() ? 0.0f : scores[i];
    t.attr = types.empty() ? kAttrNormal : attr_from_type(types[i]);
  }

  // Linefeed: SPM/WPM know it now; the others need the tokenizer (init_linefeed).
  if (v.type == VocabType::SPM) {
    v.special.nl = v.byte_to_token('\n');
    if (v.special.nl < 0) v.special.nl = v.special.pad;
  } else if (v.type == VocabType::WPM) {
    v.special.nl = v.special.pad;
  }

  read_special_ids(v, meta);
  read_bool(meta, "tokenizer.ggml.add_bos_token", v.special.add_bos);
  read_bool(meta, "tokenizer.ggml.add_eos_token", v.special.add_eos);
  read_bool(meta, "tokenizer.ggml.add_sep_token", v.special.add_sep);
  if (v.model == "gemma4" || v.pre == "gemma4" || v.pre == "granite-embed-multi-311m")
    v.special.add_bos = true;  // llama.cpp's Gemma 4 override
  auto check = [&](bool add, TokenId id, const char* add_key, const char* id_key) {
    if (add && id < 0)
      throw Error(where(meta, add_key) + " is true, but " + id_key + " is not set");
  };
  check(v.special.add_bos, v.special.bos, "tokenizer.ggml.add_bos_token", "tokenizer.ggml.bos_token_id");
  check(v.special.add_eos, v.special.eos, "tokenizer.ggml.add_eos_token", "tokenizer.ggml.eos_token_id");
  check(v.special.add_sep, v.special.sep, "tokenizer.ggml.add_sep_token", "tokenizer.ggml.seperator_token_id");

  read_bool(meta, "tokenizer.ggml.normalizer.lowercase", v.lowercase);
  v.strip_accents = v.lowercase;
  read_bool(meta, "tokenizer.ggml.normalizer.strip_accents", v.strip_accents);

  detect_by_text(v);

  for (TokenId id = 0; id < TokenId(n); ++id)
    if (v.tokens[id].attr & (kAttrControl | kAttrUserDefined | kAttrUnknown))
      v.special_cache.push_back(id);
  // Longest first; equal lengths keep id order (llama.cpp's std::sort leaves
  // that unspecified, stable_sort makes ours deterministic).
  std::stable_sort(v.special_cache.begin(), v.special_cache.end(), [&](TokenId a, TokenId b) {
    return v.tokens[a].text.size() > v.tokens[b].text.size();
  });

  apply_name_attrs(v, meta);
  return v;
}

TokenId Vocab::find(std::string_view text) const {
  auto it = token_to_id.find(text);
  return it == token_to_id.end() ? -1 : it->second;
}

uint32_t Vocab::attr(TokenId id) const {
  if (!valid(id))
    throw Error(source + ": token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                std::to_string(int64_t(size()) - 1) + ")");
  return tokens[size_t(id)].attr;
}

const std::string& Vocab::text(TokenId id) const {
  attr(id);  // range check
  return tokens[size_t(id)].text;
}

float Vocab::score(TokenId id) const {
  attr(id);
  return tokens[size_t(id)].score;
}

TokenId Vocab::byte_to_token(uint8_t byte) const {
  static const char* hex = "0123456789ABCDEF";
  switch (type) {
    case VocabType::SPM:
    case VocabType::UGM: {
      const char buf[7] = {'<', '0', 'x', hex[byte >> 4], hex[byte & 15], '>', 0};
      TokenId id = find(buf);
      if (id >= 0) return id;
      return find(std::string_view(reinterpret_cast<const char*>(&byte), 1));
    }
    case VocabType::BPE:
    case VocabType::WPM:
      return find(utf8::byte_to_gpt2(byte));
    default:
      return -1;
  }
}

uint8_t Vocab::token_to_byte(TokenId id) const {
  const std::string& t = text(id);
  // "<0xNN>"; llama.cpp parses the two characters after "<0x" as hex.
  if (t.size() < 5) return 0;
  return uint8_t(std::strtol(t.substr(3, 2).c_str(), nullptr, 16));
}

std::vector<Vocab::Fragment> Vocab::partition(std::string_view text, bool parse_special) const {
  std::list<Fragment> buf;
  if (text.empty()) return {};
  buf.push_back({-1, 0, text.size()});
  auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };

  for (TokenId sid : special_cache) {
    const TokenData& data = tokens[size_t(sid)];
    if (!parse_special && (data.attr & (kAttrControl | kAttrUnknown))) continue;
    const std::string& st = data.text;
    for (auto it = buf.begin(); it != buf.end(); ++it) {
      if (it->token >= 0) continue;
      size_t base = it->offset, len = it->length;
      // Replace this raw fragment by its pieces, inserted before it.
      bool split = false;
      for (;;) {
        size_t match = text.substr(0, base + len).find(st, base);
        if (match == std::string_view::npos) break;
        split = true;
        if (match > base) {
          size_t left_len = match - base;
          if (data.attr & kAttrLstrip)
            while (left_len > 0 && is_space(text[base + left_len - 1])) --left_len;
          if (left_len > 0) buf.insert(it, Fragment{-1, base, left_len});
        }
        buf.insert(it, Fragment{sid, 0, 0});
        if (match + st.size() < base + len) {
          size_t r_off = match + st.size();
          size_t r_len = len - ((match - base) + st.size());
          if (data.attr & kAttrRstrip)
            while (r_len > 0 && is_space(text[r_off])) { ++r_off; --r_len; }
          base = r_off;
          len = r_len;
          if (len == 0) break;
        } else {
          len = 0;
          break;
        }
      }
      if (split) {
        if (len > 0) buf.insert(it, Fragment{-1, base, len});
        it = std::prev(buf.erase(it));
      }
    }
  }
  return {buf.begin(), buf.end()};
}

}  // namespace tessel
