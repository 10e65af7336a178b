#pragma once
// A golden GGUF turned back into a Hugging Face checkpoint (HF names, HF
// layouts: rotate-half q/k for llama, un-shifted Gemma norms, config.json
// from the GGUF keys, two shards and an index). The inverse mapping here is
// written independently of the plugin's tables.
#include <catch2/catch.hpp>
#include <algorithm>
#include <fstream>
#include <map>

#include "checkpoint_writer.hpp"
#include "support.hpp"
#include "tessel/pipeline.hpp"

namespace st_test {

namespace fs = std::filesystem;
using json = nlohmann::json;

inline tessel::Registry& registry() {
  static auto reg = tessel::make_registry({tessel::test::plugin_dir()});
  return *reg;
}
inline tessel::CodecSet& codecs() {
  static auto c = tessel::load_codecs(registry());
  return *c;
}

// GGUF name suffix (after blk.N.) -> HF name, per layout family.
inline std::string hf_name(const std::string& family, const std::string& gguf) {
  static const std::map<std::string, std::map<std::string, std::string>> kLayer = {
      {"decoder", {{"attn_norm.weight", "input_layernorm.weight"}, {"attn_q.weight", "self_attn.q_proj.weight"},
                   {"attn_k.weight", "self_attn.k_proj.weight"}, {"attn_v.weight", "self_attn.v_proj.weight"},
                   {"attn_q.bias", "self_attn.q_proj.bias"}, {"attn_k.bias", "self_attn.k_proj.bias"},
                   {"attn_v.bias", "self_attn.v_proj.bias"}, {"attn_output.weight", "self_attn.o_proj.weight"},
                   {"attn_q_norm.weight", "self_attn.q_norm.weight"}, {"attn_k_norm.weight", "self_attn.k_norm.weight"},
                   {"ffn_norm.weight", "post_attention_layernorm.weight"}, {"ffn_gate.weight", "mlp.gate_proj.weight"},
                   {"ffn_up.weight", "mlp.up_proj.weight"}, {"ffn_down.weight", "mlp.down_proj.weight"}}},
      {"gemma3", {{"attn_norm.weight", "input_layernorm.weight"}, {"attn_q.weight", "self_attn.q_proj.weight"},
                  {"attn_k.weight", "self_attn.k_proj.weight"}, {"attn_v.weight", "self_attn.v_proj.weight"},
                  {"attn_output.weight", "self_attn.o_proj.weight"}, {"attn_q_norm.weight", "self_attn.q_norm.weight"},
                  {"attn_k_norm.weight", "self_attn.k_norm.weight"},
                  {"post_attention_norm.weight", "post_attention_layernorm.weight"},
                  {"ffn_norm.weight", "pre_feedforward_layernorm.weight"},
                  {"post_ffw_norm.weight", "post_feedforward_layernorm.weight"},
                  {"ffn_gate.weight", "mlp.gate_proj.weight"}, {"ffn_up.weight", "mlp.up_proj.weight"},
                  {"ffn_down.weight", "mlp.down_proj.weight"}}},
      {"bert", {{"attn_q.weight", "attention.self.query.weight"}, {"attn_q.bias", "attention.self.query.bias"},
                {"attn_k.weight", "attention.self.key.weight"}, {"attn_k.bias", "attention.self.key.bias"},
                {"attn_v.weight", "attention.self.value.weight"}, {"attn_v.bias", "attention.self.value.bias"},
                {"attn_output.weight", "attention.output.dense.weight"}, {"attn_output.bias", "attention.output.dense.bias"},
                {"attn_output_norm.weight", "attention.output.LayerNorm.weight"},
                {"attn_output_norm.bias", "attention.output.LayerNorm.bias"},
                {"ffn_up.weight", "intermediate.dense.weight"}, {"ffn_up.bias", "intermediate.dense.bias"},
                {"ffn_down.weight", "output.dense.weight"}, {"ffn_down.bias", "output.dense.bias"},
                {"layer_output_norm.weight", "output.LayerNorm.weight"}, {"layer_output_norm.bias", "output.LayerNorm.bias"}}},
  };
  static const std::map<std::string, std::string> kDecoderTop = {
      {"token_embd.weight", "model.embed_tokens.weight"}, {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"}};
  static const std::map<std::string, std::string> kBertTop = {
      {"token_embd.weight", "embeddings.word_embeddings.weight"},
      {"position_embd.weight", "embeddings.position_embeddings.weight"},
      {"token_types.weight", "embeddings.token_type_embeddings.weight"},
      {"token_embd_norm.weight", "embeddings.LayerNorm.weight"}, {"token_embd_norm.bias", "embeddings.LayerNorm.bias"}};
  if (gguf.rfind("blk.", 0) == 0) {
    const size_t dot = gguf.find('.', 4);
    const std::string n = gguf.substr(4, dot - 4), rest = gguf.substr(dot + 1);
    const std::string& hf = kLayer.at(family).at(rest);
    return (family == "bert" ? "encoder.layer." : "model.layers.") + n + "." + hf;
  }
  return (family == "bert" ? kBertTop : kDecoderTop).at(gguf);
}

struct Case {
  std::string gguf;        // relative to the shared folder
  std::string hf_class;
  std::string family;      // decoder | gemma3 | bert
  bool unpermute = false;  // llama: GGUF interleaved -> HF rotate-half
  bool shift_norms = false;
  std::string logits_dir;  // golden logits, relative to shared
};

// config.json a Hugging Face checkpoint of this model would carry.
inline json config_from(const tessel::ModelFile& g, const Case& c) {
  const tessel::Metadata& m = g.meta;
  const std::string a = m.get_string("general.architecture") + ".";
  json j;
  j["architectures"] = {c.hf_class};
  j["hidden_size"] = m.get_int(a + "embedding_length");
  j["num_hidden_layers"] = m.get_int(a + "block_count");
  j["intermediate_size"] = m.get_int(a + "feed_forward_length");
  j["num_attention_heads"] = m.get_int(a + "attention.head_count");
  if (m.has(a + "attention.head_count_kv")) j["num_key_value_heads"] = m.get_int(a + "attention.head_count_kv");
  j["max_position_embeddings"] = m.get_int(a + "context_length");
  j["vocab_size"] = int64_t(m.get_strings("tokenizer.ggml.tokens").size());
  if (m.has(a + "rope.freq_base")) j["rope_theta"] = m.get_float(a + "rope.freq_base");
  if (m.has(a + "attention.layer_norm_rms_epsilon")) j["rms_norm_eps"] = m.get_float(a + "attention.layer_norm_rms_epsilon");
  if (m.has(a + "attention.layer_norm_epsilon")) j["layer_norm_eps"] = m.get_float(a + "attention.layer_norm_epsilon");
  if (m.has(a + "attention.key_length")) j["head_dim"] = m.get_int(a + "attention.key_length");
  if (m.has(a + "attention.sliding_window")) j["sliding_window"] = m.get_int(a + "attention.sliding_window");
  if (m.has(a + "attention.sliding_window_pattern"))
    j["sliding_window_pattern"] = m.get_int(a + "attention.sliding_window_pattern");
  if (m.has("tokenizer.ggml.token_type_count")) j["type_vocab_size"] = m.get_int("tokenizer.ggml.token_type_count");
  j["tie_word_embeddings"] = g.find("output.weight") == nullptr;
  if (g.find("rope_freqs.weight"))  // llama3-synth's recipe (synth_info.json)
    j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 64}};
  return j;
}

inline std::vector<float> floats_of(const tessel::TensorInfo& t) {
  std::vector<float> v(size_t(t.n_elements()));
  codecs().get(t.type, t.name).to_float(t.data.data(), v.data(), v.size());
  return v;
}

// The golden prompts of a logits folder (<p>.tokens.json), by name.
struct Prompt {
  std::string name;
  std::vector<tessel::TokenId> ids;
};
inline std::vector<Prompt> golden_prompts(const fs::path& dir) {
  std::vector<Prompt> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    const auto k = f.find(".tokens.json");
    if (k == std::string::npos) continue;
    std::ifstream in(e.path());
    out.push_back({f.substr(0, k), json::parse(in)["token_ids"].get<std::vector<tessel::TokenId>>()});
  }
  std::sort(out.begin(), out.end(), [](const Prompt& a, const Prompt& b) { return a.name < b.name; });
  if (out.empty()) FAIL("no <prompt>.tokens.json in " << dir);
  return out;
}

// One decode of the whole prompt from an empty cache, as refdump does: the
// logits of every position (`all`) or of the last.
inline std::vector<float> decode_prompt(tessel::Model& model, tessel::Context& ctx, const std::vector<tessel::TokenId>& ids,
                                        bool all) {
  ctx.clear();
  tessel::Batch b;
  for (size_t i = 0; i < ids.size(); ++i) b.add_token(ids[i], int32_t(i), 0, all || i + 1 == ids.size());
  tessel::Outputs out;
  model.forward(b, ctx, out);
  return out.logits;
}

// tokenizer.json / tokenizer_config.json of a byte-level BPE (Llama 3) vocabulary
// held in GGUF keys: control tokens become special added tokens, BOS is added
// by the post-processor, the split regex is Llama 3's.
inline void write_byte_level_tokenizer(const tessel::ModelFile& g, const fs::path& dir) {
  const auto& tokens = g.meta.get_strings("tokenizer.ggml.tokens");
  const auto types = g.meta.get_ints("tokenizer.ggml.token_type");
  json vocab = json::object(), added = json::array();
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (types[i] == 3 || types[i] == 4)
      added.push_back({{"id", i}, {"content", tokens[i]}, {"special", types[i] == 3}});
    else
      vocab[tokens[i]] = i;
  }
  const std::string bos = tokens[size_t(g.meta.get_int("tokenizer.ggml.bos_token_id"))];
  const std::string eos = tokens[size_t(g.meta.get_int("tokenizer.ggml.eos_token_id"))];
  const std::string regex =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  json tok = {
      {"version", "1.0"},
      {"added_tokens", added},
      {"pre_tokenizer", {{"type", "Sequence"},
                         {"pretokenizers", {{{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}},
                                            {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}}}}},
      {"post_processor", {{"type", "TemplateProcessing"},
                          {"single", {{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}}}},
      {"model", {{"type", "BPE"}, {"byte_fallback", false}, {"vocab", vocab},
                 {"merges", g.meta.get_strings("tokenizer.ggml.merges")}}}};
  write_json(dir / "tokenizer.json", tok);
  write_json(dir / "tokenizer_config.json", {{"bos_token", bos}, {"eos_token", eos}});
}

// tokenizer.json / tokenizer_config.json of a BERT WordPiece vocabulary held
// in GGUF keys (llama.cpp's "bert" layout): U+2581 marks word starts in GGUF,
// "##" marks continuations in HF; control tokens ([CLS], [SEP]...) are
// special added tokens. The bge vocabulary in the golden files was converted
// when llama.cpp kept every "[...]" token's text, so those ([unused0]...) are
// word-start pieces without the mark.
inline std::string wordpiece_text(const std::string& gguf, int64_t type) {
  static const std::string kMark = "\xe2\x96\x81";
  if (type == 3) return gguf;
  if (gguf.rfind(kMark, 0) == 0) return gguf.substr(kMark.size());
  if (gguf.size() > 2 && gguf.front() == '[' && gguf.back() == ']') return gguf;
  return "##" + gguf;
}

inline void write_wordpiece_tokenizer(const tessel::ModelFile& g, const fs::path& dir) {
  const auto& tokens = g.meta.get_strings("tokenizer.ggml.tokens");
  const auto types = g.meta.get_ints("tokenizer.ggml.token_type");
  json vocab = json::object(), added = json::array();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string t = wordpiece_text(tokens[i], types[i]);
    vocab[t] = i;
    if (types[i] == 3) added.push_back({{"id", i}, {"content", t}, {"special", true}, {"normalized", false}});
  }
  auto text_of = [&](const char* key) { return tokens[size_t(g.meta.get_int(key))]; };
  const std::string cls = text_of("tokenizer.ggml.cls_token_id"), sep = text_of("tokenizer.ggml.seperator_token_id");
  json tok = {
      {"version", "1.0"},
      {"added_tokens", added},
      {"normalizer", {{"type", "BertNormalizer"}, {"clean_text", true}, {"handle_chinese_chars", true},
                      {"strip_accents", nullptr}, {"lowercase", true}}},
      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
      {"post_processor", {{"type", "TemplateProcessing"},
                          {"single", {{{"SpecialToken", {{"id", cls}, {"type_id", 0}}}},
                                      {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                      {{"SpecialToken", {{"id", sep}, {"type_id", 0}}}}}}}},
      {"model", {{"type", "WordPiece"}, {"unk_token", text_of("tokenizer.ggml.unknown_token_id")},
                 {"continuing_subword_prefix", "##"}, {"max_input_chars_per_word", 100}, {"vocab", vocab}}}};
  write_json(dir / "tokenizer.json", tok);
  write_json(dir / "tokenizer_config.json",
             {{"cls_token", cls}, {"sep_token", sep}, {"unk_token", text_of("tokenizer.ggml.unknown_token_id")},
              {"pad_token", text_of("tokenizer.ggml.padding_token_id")},
              {"mask_token", text_of("tokenizer.ggml.mask_token_id")}, {"do_lower_case", true}});
}

// Writes the checkpoint for `c` into a fresh folder and returns it with the golden file.
inline std::pair<fs::path, std::shared_ptr<tessel::ModelFile>> write_checkpoint(const Case& c) {
  auto g = tessel::open_model_file(registry(), tessel::test::shared_path(c.gguf));
  const fs::path dir = tessel::test::temp_dir() / "ckpt";
  fs::create_directories(dir);
  std::vector<Tensor> out;
  const std::string a = g->meta.get_string("general.architecture") + ".";
  for (const auto& t : g->tensors) {
    if (t.name == "rope_freqs.weight") continue;  // regenerated from rope_scaling
    Tensor s;
    s.name = hf_name(c.family, t.name);
    for (int d = t.n_dims - 1; d >= 0; --d) s.shape.push_back(t.ne[size_t(d)]);
    if (t.type == tessel::TypeId::F16) {
      s.dtype = "F16";
      s.bytes.assign(t.data.begin(), t.data.end());
    } else {
      std::vector<float> v = floats_of(t);
      if (c.shift_norms && t.name.find("norm.weight") != std::string::npos)
        for (auto& x : v) x -= 1.0f;
      s = f32_tensor(s.name, s.shape, v);
    }
    const bool q = t.name.find("attn_q.") != std::string::npos, k = t.name.find("attn_k.") != std::string::npos;
    if (c.unpermute && (q || k)) {
      // GGUF row h*d + 2i + j came from HF row h*d + j*d/2 + i.
      const int64_t heads = g->meta.get_int(a + (q ? "attention.head_count" : "attention.head_count_kv"));
      const int64_t rows = s.shape[0], d = rows / heads, half = d / 2;
      const size_t rb = s.bytes.size() / size_t(rows);
      std::vector<std::byte> hf(s.bytes.size());
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < half; ++i)
          for (int64_t jj = 0; jj < 2; ++jj)
            std::memcpy(hf.data() + size_t(h * d + jj * half + i) * rb, s.bytes.data() + size_t(h * d + 2 * i + jj) * rb, rb);
      s.bytes = std::move(hf);
    }
    out.push_back(std::move(s));
  }
  // Two shards and an index, as large checkpoints come.
  const size_t cut = out.size() / 2;
  std::vector<Tensor> first(out.begin(), out.begin() + long(cut)), second(out.begin() + long(cut), out.end());
  write_safetensors(dir / "model-00001-of-00002.safetensors", first);
  write_safetensors(dir / "model-00002-of-00002.safetensors", second);
  json index;
  for (const auto& t : first) index["weight_map"][t.name] = "model-00001-of-00002.safetensors";
  for (const auto& t : second) index["weight_map"][t.name] = "model-00002-of-00002.safetensors";
  write_json(dir / "model.safetensors.index.json", index);
  write_json(dir / "config.json", config_from(*g, c));
  if (g->meta.has(a + "pooling_type")) {  // sentence-transformers says how to pool
    const int64_t kind = g->meta.get_int(a + "pooling_type");
    write_json(dir / "modules.json", json::array({{{"idx", 0}, {"name", "0"}, {"path", ""}, {"type", "sentence_transformers.models.Transformer"}},
                                                          {{"idx", 1}, {"name", "1"}, {"path", "1_Pooling"}, {"type", "sentence_transformers.models.Pooling"}}}));
    fs::create_directories(dir / "1_Pooling");
    write_json(dir / "1_Pooling" / "config.json", {{"pooling_mode_mean_tokens", kind == 1}, {"pooling_mode_cls_token", kind == 2},
                                                           {"pooling_mode_lasttoken", kind == 3}});
  }
  const std::string vocab_model = g->meta.get_string("tokenizer.ggml.model", "");
  if (vocab_model == "gpt2") write_byte_level_tokenizer(*g, dir);
  if (vocab_model == "bert") write_wordpiece_tokenizer(*g, dir);
  return {dir, g};
}

}  // namespace st_test
