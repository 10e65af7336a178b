// Imports a Hugging Face tokenizer.json into vocab-only GGUF metadata laid
// out as llama.cpp's converter lays it out:
//  - BPE over SentencePiece style pieces (spaces as U+2581, byte fallback
//    <0xNN>, e.g. Gemma 3) as an SPM ("llama") vocabulary: tokens by id,
//    scores, token types, special ids and add_* flags (gguf-py's SpecialVocab
//    reads tokenizer_config.json the same way). HF BPE applies merges by rank;
//    llama.cpp's SPM merges the highest-scoring adjacent pair first, so each
//    token's score is -(rank of the first merge producing it) and SPM then
//    reproduces BPE. Tokens no merge produces (single characters, bytes, added
//    tokens) score below every merge, -(n_merges + 1): BPE never forms them.
//  - byte-level BPE (Llama 3, Qwen) as a "gpt2" vocabulary with its merges;
//  - WordPiece (BERT) as a "bert" vocabulary (import_wordpiece).
#include "tessel/hf_tokenizer.hpp"

#include <algorithm>
#include <map>
#include <string_view>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "tessel/error.hpp"
#include "tessel/json_file.hpp"

namespace tessel {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// gguf-py's TokenType.
enum : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

bool is_byte_token(const std::string& t) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
  return t.size() == 6 && t.compare(0, 3, "<0x") == 0 && hex(t[3]) && hex(t[4]) && t[5] == '>';
}

// A config entry is "text" or {"content": "text", ...}.
std::string token_content(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return {};
}

// True when the normalizer (or a Sequence of them) prepends U+2581.
bool prepends_space(const json& n) {
  if (!n.is_object()) return false;
  const std::string type = n.value("type", "");
  if (type == "Prepend") return n.value("prepend", "") == "\xe2\x96\x81";
  if (type == "Sequence" && n.contains("normalizers"))
    for (const auto& s : n["normalizers"])
      if (prepends_space(s)) return true;
  return false;
}

// Special ids, add_bos/add_eos and the chat template: tokenizer_config.json
// first (gguf-py's SpecialVocab), else what tokenizer.json itself says. As in
// SpecialVocab, a config naming cls/sep but no bos/eos (BERT) makes them
// BOS/EOS. A WordPiece model without a config takes [CLS]/[SEP] from the
// post-processor's template, since llama.cpp's WPM wraps every text in them.
void add_special_tokens(const json& j, const fs::path& config_path, const std::unordered_map<std::string, int64_t>& id_of,
                        const std::string& unk, bool wordpiece, Metadata& meta) {
  const std::string src = meta.source;
  json cfg = config_path.empty() ? json::object() : read_json_file(config_path);
  auto set_id = [&](const char* key, const std::string& text) {
    if (text.empty()) return;
    auto it = id_of.find(text);
    if (it == id_of.end())
      throw Error((config_path.empty() ? src : config_path.string()) + ": special token '" + text +
                          "' (" + key + ") is not in the vocabulary");
    meta.set(key, MetaValue::of_u32(uint32_t(it->second)));
  };
  auto cfg_token = [&](const char* key) { return token_content(cfg.value(key, json())); };
  std::string bos = cfg_token("bos_token"), eos = cfg_token("eos_token");
  std::string cls = cfg_token("cls_token"), sep = cfg_token("sep_token");
  bool add_bos = false, add_eos = false;
  bool have_add_bos = false;
  if (j.contains("post_processor") && j["post_processor"].is_object()) {
    const json& pp = j["post_processor"];
    if (pp.value("type", "") == "TemplateProcessing" && pp.contains("single") && pp["single"].is_array() &&
        !pp["single"].empty()) {
      const json& first = pp["single"].front();
      const json& last = pp["single"].back();
      if (first.contains("SpecialToken")) {
        add_bos = true;
        have_add_bos = true;
        const std::string id = first["SpecialToken"].value("id", "");
        if (wordpiece && cls.empty()) cls = id;
        if (bos.empty() && cls.empty()) bos = id;
      }
      if (last.contains("SpecialToken")) {
        add_eos = true;
        if (wordpiece && sep.empty()) sep = last["SpecialToken"].value("id", "");
      }
    }
  }
  if (bos.empty()) bos = cls;
  if (eos.empty()) eos = sep;
  set_id("tokenizer.ggml.bos_token_id", bos);
  set_id("tokenizer.ggml.eos_token_id", eos);
  set_id("tokenizer.ggml.unknown_token_id", cfg.contains("unk_token") ? cfg_token("unk_token") : unk);
  set_id("tokenizer.ggml.seperator_token_id", sep);
  set_id("tokenizer.ggml.padding_token_id", cfg_token("pad_token"));
  set_id("tokenizer.ggml.cls_token_id", cls);
  set_id("tokenizer.ggml.mask_token_id", cfg_token("mask_token"));
  if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean()) add_bos = cfg["add_bos_token"].get<bool>();
  else if (!have_add_bos) add_bos = false;
  if (cfg.contains("add_eos_token") && cfg["add_eos_token"].is_boolean()) add_eos = cfg["add_eos_token"].get<bool>();
  meta.set("tokenizer.ggml.add_bos_token", MetaValue::of_bool(add_bos));
  meta.set("tokenizer.ggml.add_eos_token", MetaValue::of_bool(add_eos));
  if (cfg.contains("chat_template") && cfg["chat_template"].is_string())
    meta.set("tokenizer.chat_template", MetaValue::of_string(cfg["chat_template"].get<std::string>()));
}

// The vocabulary by id: model.vocab plus added_tokens; gaps become [PADn]
// (unused) and the list is padded to the model's vocab_size, as llama.cpp's
// converter does. `id_of` maps the tokenizer.json texts to ids.
struct TokenList {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::unordered_map<int64_t, bool> added_special;  // id -> special
  std::unordered_map<std::string, int64_t> id_of;
};

TokenList collect_tokens(const json& j, const json& model, const std::string& src, int64_t n_vocab) {
  std::map<int64_t, std::string> by_id;
  for (const auto& [text, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0)
      throw Error(src + ": model.vocab['" + text + "'] is not a non-negative id");
    by_id[id.get<int64_t>()] = text;
  }
  TokenList list;
  if (j.contains("added_tokens"))
    for (const auto& t : j["added_tokens"]) {
      if (!t.contains("id") || !t["id"].is_number_integer() || !t.contains("content"))
        throw Error(src + ": added_tokens entry without id/content: " + t.dump());
      const int64_t id = t["id"].get<int64_t>();
      by_id[id] = t["content"].get<std::string>();
      list.added_special[id] = t.value("special", false);
    }
  if (by_id.empty()) throw Error(src + ": the vocabulary is empty");
  // Gaps and padding become [PADn] strings, one per id: a 300-byte file
  // naming id 111111111 used to ask for 3 GB (tokenizer-json fuzz target,
  // #18). Real checkpoints pad a few hundred ids (Qwen2.5: 151,665 tokens,
  // vocab_size 152,064), so fillers may at most match the listed tokens.
  const int64_t listed = int64_t(by_id.size()), top = by_id.rbegin()->first + 1;
  const int64_t max_ids = 2 * listed + 1024;
  if (top > max_ids)
    throw Error(src + ": token id " + std::to_string(top - 1) + " leaves " + std::to_string(top - listed) +
                " ids without a token for " + std::to_string(listed) + " listed; expected ids below " +
                std::to_string(max_ids) + " (twice the listed tokens + 1024)");
  if (n_vocab > max_ids)
    throw Error(src + ": config.json's vocab_size " + std::to_string(n_vocab) + " would pad " +
                std::to_string(listed) + " listed tokens with " + std::to_string(n_vocab - listed) +
                " fillers; expected at most " + std::to_string(max_ids) + " (twice the listed tokens + 1024)");
  const int64_t n = std::max(top, n_vocab);
  list.tokens.resize(size_t(n));
  list.types.assign(size_t(n), kNormal);
  for (int64_t i = 0; i < n; ++i) {
    auto it = by_id.find(i);
    if (it == by_id.end()) {
      list.tokens[size_t(i)] = "[PAD" + std::to_string(i) + "]";
      list.types[size_t(i)] = kUnused;
    } else {
      list.tokens[size_t(i)] = it->second;
    }
    list.id_of.emplace(list.tokens[size_t(i)], i);
  }
  return list;
}

// The pre-tokenizer llama.cpp would name: its converter hashes the
// tokenizer's output on a probe text; without HF tokenizers we recognise the
// split regex instead (the part of the pre-tokenizer that decides the chunks).
std::string pre_tokenizer_name(const json& j, const std::string& src) {
  static const std::pair<const char*, const char*> kKnown[] = {
      {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", "llama-bpe"},
      {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", "qwen2"},
  };
  const json pt = j.value("pre_tokenizer", json());
  std::vector<json> parts;
  if (pt.is_object() && pt.value("type", "") == "Sequence" && pt.contains("pretokenizers")) {
    for (const auto& p : pt["pretokenizers"]) parts.push_back(p);
  } else if (pt.is_object()) {
    parts.push_back(pt);
  }
  for (const auto& p : parts) {
    if (p.value("type", "") != "Split" || !p.contains("pattern") || !p["pattern"].is_object()) continue;
    const std::string regex = p["pattern"].value("Regex", "");
    for (const auto& [pattern, name] : kKnown)
      if (regex == pattern) return name;
    throw Error(src + ": pre_tokenizer split regex '" + regex + "' is not one tessel recognises (llama-bpe, qwen2)");
  }
  if (parts.size() == 1 && parts[0].value("type", "") == "ByteLevel") return "gpt-2";
  throw Error(src + ": pre_tokenizer " + pt.dump().substr(0, 120) + " is not one tessel recognises (llama-bpe, qwen2, gpt-2)");
}

// gguf-py's does_token_look_special: added tokens some models forget to mark special.
bool looks_special(const std::string& t) {
  auto wrapped = [&](std::string_view open, std::string_view close) {
    return t.size() >= open.size() + close.size() && t.compare(0, open.size(), open) == 0 &&
           t.compare(t.size() - close.size(), close.size(), close) == 0;
  };
  return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" || wrapped("<|", "|>") ||
         wrapped("<\xef\xbd\x9c", "\xef\xbd\x9c>") || wrapped("<unused", ">");
}

// What a WordPiece normalizer does, in the switches llama.cpp's WPM has
// (tokenizer.ggml.normalizer.*): BertNormalizer or the same steps as a
// Sequence. clean_text and handle_chinese_chars are what WPM always does.
struct WordPieceNormalizer {
  bool lowercase = false, strip_accents = false;
};

void read_wordpiece_normalizer(const json& n, const std::string& src, WordPieceNormalizer& out) {
  if (n.is_null()) return;
  const std::string type = n.is_object() ? n.value("type", "") : "";
  auto flag = [&](const char* key, bool fallback) {
    return n.contains(key) && n[key].is_boolean() ? n[key].get<bool>() : fallback;
  };
  if (type == "BertNormalizer") {
    out.lowercase = flag("lowercase", true);
    out.strip_accents = flag("strip_accents", out.lowercase);  // null: as lowercase (HF's rule)
  } else if (type == "Lowercase") {
    out.lowercase = true;
  } else if (type == "StripAccents") {
    out.strip_accents = true;
  } else if (type == "NFD") {
    // WPM decomposes while stripping accents.
  } else if (type == "Sequence" && n.contains("normalizers") && n["normalizers"].is_array()) {
    for (const auto& part : n["normalizers"]) read_wordpiece_normalizer(part, src, out);
  } else {
    throw Error(src + ": normalizer " + n.dump().substr(0, 80) +
                " is not one a WordPiece (WPM) tokenizer applies (BertNormalizer, Lowercase, StripAccents, NFD)");
  }
}

// WordPiece (BERT) as BertModel.set_vocab writes it: llama.cpp's "bert"
// vocabulary marks word starts with the phantom space U+2581 instead of
// marking continuations with "##", so every token but the control ones is
// rewritten. The pre-tokenizer must be BertPreTokenizer, which WPM
// implements (whitespace, then punctuation and CJK characters on their own).
Metadata import_wordpiece(const json& j, const json& model, const std::string& src, const fs::path& config_path,
                          TokenList list) {
  WordPieceNormalizer norm;
  read_wordpiece_normalizer(j.value("normalizer", json()), src, norm);
  const json pt = j.value("pre_tokenizer", json());
  const bool bert_split = pt.is_object() && (pt.value("type", "") == "BertPreTokenizer" ||
                                             (pt.value("type", "") == "Sequence" && pt.contains("pretokenizers") &&
                                              pt["pretokenizers"].is_array() && pt["pretokenizers"].size() == 1 &&
                                              pt["pretokenizers"][0].value("type", "") == "BertPreTokenizer"));
  if (!bert_split)
    throw Error(src + ": pre_tokenizer " + pt.dump().substr(0, 80) +
                " is not BertPreTokenizer, the only split a WordPiece (WPM) tokenizer does");
  const std::string prefix = model.contains("continuing_subword_prefix") && model["continuing_subword_prefix"].is_string()
                                 ? model["continuing_subword_prefix"].get<std::string>() : "##";
  if (prefix.empty()) throw Error(src + ": model.continuing_subword_prefix is empty");
  for (const auto& [id, special] : list.added_special)
    if (id < int64_t(list.types.size()))
      list.types[size_t(id)] = special || looks_special(list.tokens[size_t(id)]) ? kControl : kUserDefined;
  for (size_t i = 0; i < list.tokens.size(); ++i) {
    std::string& t = list.tokens[i];
    if (list.types[i] == kControl) continue;
    if (t.compare(0, prefix.size(), prefix) == 0) t.erase(0, prefix.size());
    else t.insert(0, "\xe2\x96\x81");
  }
  const std::string unk = model.contains("unk_token") && model["unk_token"].is_string()
                              ? model["unk_token"].get<std::string>() : "[UNK]";
  Metadata meta;
  meta.source = src;
  meta.set("tokenizer.ggml.model", MetaValue::of_string("bert"));
  // llama.cpp ignores the pre-tokenizer name of WPM vocabularies; its
  // converter's name comes from hashing HF tokenizers' output, which tessel
  // cannot run.
  meta.set("tokenizer.ggml.pre", MetaValue::of_string("default"));
  meta.set("tokenizer.ggml.tokens", MetaValue::of_strings(list.tokens));
  meta.set("tokenizer.ggml.token_type", MetaValue::of_i32s(list.types));
  add_special_tokens(j, config_path, list.id_of, list.id_of.count(unk) ? unk : "", true, meta);
  meta.set("tokenizer.ggml.normalizer.lowercase", MetaValue::of_bool(norm.lowercase));
  meta.set("tokenizer.ggml.normalizer.strip_accents", MetaValue::of_bool(norm.strip_accents));
  return meta;
}

}  // namespace

static Metadata import_checked(const fs::path& input, const fs::path& config_path, int64_t n_vocab);

Metadata import_hf_tokenizer(const fs::path& input, const fs::path& config_path, int64_t n_vocab) {
  try {
    return import_checked(input, config_path, n_vocab);
  } catch (const json::exception& e) {
    // A field of the wrong type (a number where a string belongs...).
    throw Error(input.string() + (config_path.empty() ? "" : " (with " + config_path.string() + ")") +
                ": unexpected tokenizer.json layout: " + e.what());
  }
}

static Metadata import_checked(const fs::path& input, const fs::path& config_path, int64_t n_vocab) {
  const std::string src = input.string();
  const json j = read_json_file(input);
  if (!j.contains("model") || !j["model"].is_object())
    throw Error(src + ": no \"model\" object (is this a tokenizer.json?)");
  const json& model = j["model"];
  const std::string type = model.value("type", "");
  if (type != "BPE" && type != "WordPiece")
    throw Error(src + ": model.type is '" + type +
                        "'; tessel imports BPE tokenizers (SentencePiece style, e.g. Gemma, or byte-level, e.g. "
                        "Llama 3, Qwen) and WordPiece (BERT)");
  if (!model.contains("vocab") || !model["vocab"].is_object())
    throw Error(src + ": model.vocab must be an object of token -> id");
  TokenList list = collect_tokens(j, model, src, n_vocab);
  if (type == "WordPiece") return import_wordpiece(j, model, src, config_path, std::move(list));
  // Without byte fallback the pieces are GPT-2 byte-level ones: llama.cpp's "gpt2" model.
  const bool byte_level = !model.value("byte_fallback", false);
  const std::string pre = byte_level ? pre_tokenizer_name(j, src) : "";
  std::vector<std::string>& tokens = list.tokens;
  std::vector<int32_t>& types = list.types;
  const auto& added_special = list.added_special;
  const auto& id_of = list.id_of;
  const int64_t n = int64_t(tokens.size());

  // Scores from merge ranks.
  const json merges = model.contains("merges") ? model["merges"] : json::array();
  std::unordered_map<std::string, int64_t> first_rank;
  int64_t rank = 0;
  for (const auto& m : merges) {
    std::string a, b;
    if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const size_t sp = s.find(' ', 1);
      if (sp == std::string::npos) throw Error(src + ": merge " + std::to_string(rank) + " '" + s + "' has no space");
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else {
      throw Error(src + ": merge " + std::to_string(rank) + " is neither \"a b\" nor [a, b]");
    }
    first_rank.emplace(a + b, rank);
    ++rank;
  }
  std::vector<float> scores(static_cast<size_t>(n), -float(rank + 1));
  for (int64_t i = 0; i < n; ++i) {
    auto it = first_rank.find(tokens[size_t(i)]);
    if (it != first_rank.end()) scores[size_t(i)] = -float(it->second);
  }

  if (byte_level) {
    // Added tokens: special ones are control tokens, the rest user-defined (gguf-py's get_vocab_base).
    for (const auto& [id, special] : added_special)
      if (id < n) types[size_t(id)] = special ? kControl : kUserDefined;
    std::vector<std::string> merge_list;
    for (const auto& m : merges)
      merge_list.push_back(m.is_string() ? m.get<std::string>() : m[0].get<std::string>() + " " + m[1].get<std::string>());
    Metadata meta;
    meta.source = src;
    meta.set("tokenizer.ggml.model", MetaValue::of_string("gpt2"));
    meta.set("tokenizer.ggml.pre", MetaValue::of_string(pre));
    meta.set("tokenizer.ggml.tokens", MetaValue::of_strings(tokens));
    meta.set("tokenizer.ggml.token_type", MetaValue::of_i32s(types));
    meta.set("tokenizer.ggml.merges", MetaValue::of_strings(merge_list));
    add_special_tokens(j, config_path, id_of, "", false, meta);
    return meta;
  }

  const std::string unk = model.contains("unk_token") && model["unk_token"].is_string()
                              ? model["unk_token"].get<std::string>() : "";
  for (int64_t i = 0; i < n; ++i) {
    if (types[size_t(i)] == kUnused) continue;
    auto a = added_special.find(i);
    if (!unk.empty() && tokens[size_t(i)] == unk) types[size_t(i)] = kUnknown;
    else if (a != added_special.end()) types[size_t(i)] = a->second ? kControl : kUserDefined;
    else if (is_byte_token(tokens[size_t(i)])) types[size_t(i)] = kByte;
  }

  Metadata meta;
  meta.source = src;
  meta.set("tokenizer.ggml.model", MetaValue::of_string("llama"));
  meta.set("tokenizer.ggml.tokens", MetaValue::of_strings(tokens));
  meta.set("tokenizer.ggml.scores", MetaValue::of_f32s(scores));
  meta.set("tokenizer.ggml.token_type", MetaValue::of_i32s(types));

  add_special_tokens(j, config_path, id_of, unk, false, meta);
  // SentencePiece's "add dummy prefix" shows up as a Prepend("▁") normalizer.
  meta.set("tokenizer.ggml.add_space_prefix",
           MetaValue::of_bool(prepends_space(j.value("normalizer", json()))));
  meta.set("tokenizer.ggml.remove_extra_whitespaces", MetaValue::of_bool(false));
  return meta;
}

}  // namespace tessel
