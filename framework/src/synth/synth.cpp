#include "tessel/synth.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tessel/error.hpp"
#include "tessel/threadpool.hpp"

namespace tessel::synth {

const std::vector<Preset>& presets() {
  static const std::vector<Preset> list{
      {"tinyllama-1.1b", "llama", 2048, 22, 32, 4, 64, 5632, 32000, 2048,
       "TinyLlama-1.1B shape: 2048 wide, 22 layers, 32 heads / 4 KV heads, FFN 5632"},
      {"embeddinggemma-300m", "gemma-embedding", 768, 24, 3, 1, 256, 1152, 262144, 2048,
       "EmbeddingGemma-300M shape: 768 wide, 24 layers, 3 heads / 1 KV head of 256, FFN 1152, dense heads"},
      {"bge-small", "bert", 384, 12, 12, 12, 32, 1536, 30522, 512,
       "BGE-small shape: 384 wide, 12 layers, 12 heads, FFN 1536, WordPiece vocab"},
      {"stories-15m", "llama", 288, 6, 6, 6, 48, 768, 32000, 256,
       "llama2.c stories15M shape: 288 wide, 6 layers, 6 heads"},
      {"llama-3.2-1b", "llama", 2048, 16, 32, 8, 64, 8192, 128256, 8192,
       "Llama-3.2-1B shape: 2048 wide, 16 layers, 32 heads / 8 KV heads, FFN 8192, rope_freqs, tied",
       true},
      {"qwen2.5-0.5b", "qwen2", 896, 24, 14, 2, 64, 4864, 151936, 32768,
       "Qwen2.5-0.5B shape: 896 wide, 24 layers, 14 heads / 2 KV heads, q/k/v biases, tied"},
      {"qwen3-0.6b", "qwen3", 1024, 28, 16, 8, 128, 3072, 151936, 40960,
       "Qwen3-0.6B shape: 1024 wide, 28 layers, 16 heads / 8 KV heads of 128, q/k norms, tied"},
      {"phi-3-mini", "phi3", 3072, 32, 32, 32, 96, 8192, 32064, 4096,
       "Phi-3-mini-4k shape: 3072 wide, 32 layers, 32 heads, fused qkv and gate+up"},
      {"gemma-2-2b", "gemma2", 2304, 26, 8, 4, 256, 9216, 256000, 8192,
       "Gemma-2-2B shape: 2304 wide, 26 layers, 8 heads / 4 KV heads of 256, softcaps, sliding 4096"},
  };
  return list;
}

const Preset* find_preset(const std::string& name) {
  for (const auto& p : presets())
    if (p.name == name) return &p;
  return nullptr;
}

void override_shape(Preset& p, const std::string& spec) {
  size_t at = 0;
  while (at < spec.size()) {
    size_t end = spec.find(',', at);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(at, end - at);
    at = end + 1;
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    int64_t* field = key == "n_embd" ? &p.n_embd : key == "n_layer" ? &p.n_layer
                   : key == "n_head" ? &p.n_head : key == "n_head_kv" ? &p.n_head_kv
                   : key == "head_dim" ? &p.head_dim : key == "n_ff" ? &p.n_ff
                   : key == "n_vocab" ? &p.n_vocab : key == "n_ctx" ? &p.n_ctx : nullptr;
    if (!field || eq == std::string::npos)
      throw Error("--shape '" + item + "': expected key=value with key one of n_embd, n_layer, "
                  "n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx");
    const std::string value = item.substr(eq + 1);
    char* stop = nullptr;
    const long long v = std::strtoll(value.c_str(), &stop, 10);
    if (value.empty() || *stop != '\0' || v < 1 || v > (1 << 24))
      throw Error("--shape " + key + "=" + value + ": expected a whole number from 1 to 16777216");
    *field = v;
  }
  if (p.n_head % p.n_head_kv != 0 || p.head_dim % 2 != 0 || p.n_vocab < 260)
    throw Error("--shape: n_head (" + std::to_string(p.n_head) + ") must be a multiple of n_head_kv (" +
                std::to_string(p.n_head_kv) + "), head_dim (" + std::to_string(p.head_dim) +
                ") even and n_vocab (" + std::to_string(p.n_vocab) + ") at least 260");
}

std::string preset_names() {
  std::string s;
  for (const auto& p : presets()) s += (s.empty() ? "" : ", ") + p.name;
  return s;
}

namespace {

// One tensor to draw: shape in ggml order, and how to fill it.
struct Spec {
  std::string name;
  std::vector<int64_t> ne;
  enum Fill { Matrix, Norm, Zero, Bias } fill;
};

std::vector<Spec> tensor_specs(const Preset& p) {
  const int64_t q = p.n_head * p.head_dim, kv = p.n_head_kv * p.head_dim, e = p.n_embd;
  std::vector<Spec> t;
  auto blk = [](int64_t l, const char* n) { return "blk." + std::to_string(l) + "." + n + ".weight"; };
  auto bias = [](int64_t l, const char* n) { return "blk." + std::to_string(l) + "." + n + ".bias"; };
  t.push_back({"token_embd.weight", {e, p.n_vocab}, Spec::Matrix});
  if (p.arch == "bert") {
    t.push_back({"token_types.weight", {e, 2}, Spec::Matrix});
    t.push_back({"position_embd.weight", {e, p.n_ctx}, Spec::Matrix});
    t.push_back({"token_embd_norm.weight", {e}, Spec::Norm});
    t.push_back({"token_embd_norm.bias", {e}, Spec::Zero});
  }
  for (int64_t l = 0; l < p.n_layer; ++l) {
    if (p.arch == "bert") {
      for (const char* n : {"attn_q", "attn_k", "attn_v"}) {
        t.push_back({blk(l, n), {e, e}, Spec::Matrix});
        t.push_back({bias(l, n), {e}, Spec::Zero});
      }
      t.push_back({blk(l, "attn_output"), {e, e}, Spec::Matrix});
      t.push_back({bias(l, "attn_output"), {e}, Spec::Zero});
      t.push_back({blk(l, "attn_output_norm"), {e}, Spec::Norm});
      t.push_back({bias(l, "attn_output_norm"), {e}, Spec::Zero});
      t.push_back({blk(l, "ffn_up"), {e, p.n_ff}, Spec::Matrix});
      t.push_back({bias(l, "ffn_up"), {p.n_ff}, Spec::Zero});
      t.push_back({blk(l, "ffn_down"), {p.n_ff, e}, Spec::Matrix});
      t.push_back({bias(l, "ffn_down"), {e}, Spec::Zero});
      t.push_back({blk(l, "layer_output_norm"), {e}, Spec::Norm});
      t.push_back({bias(l, "layer_output_norm"), {e}, Spec::Zero});
      continue;
    }
    // gemma: sandwich norms; phi3: fused qkv and gate+up; qwen2: q/k/v biases.
    const bool gemma = p.arch == "gemma-embedding" || p.arch == "gemma2", phi3 = p.arch == "phi3";
    t.push_back({blk(l, "attn_norm"), {e}, Spec::Norm});
    if (phi3) {
      t.push_back({blk(l, "attn_qkv"), {e, q + 2 * kv}, Spec::Matrix});
    } else {
      t.push_back({blk(l, "attn_q"), {e, q}, Spec::Matrix});
      t.push_back({blk(l, "attn_k"), {e, kv}, Spec::Matrix});
      t.push_back({blk(l, "attn_v"), {e, kv}, Spec::Matrix});
    }
    if (p.arch == "qwen2") {
      t.push_back({bias(l, "attn_q"), {q}, Spec::Bias});
      t.push_back({bias(l, "attn_k"), {kv}, Spec::Bias});
      t.push_back({bias(l, "attn_v"), {kv}, Spec::Bias});
    }
    t.push_back({blk(l, "attn_output"), {q, e}, Spec::Matrix});
    if (p.arch == "gemma-embedding" || p.arch == "qwen3") {
      t.push_back({blk(l, "attn_q_norm"), {p.head_dim}, Spec::Norm});
      t.push_back({blk(l, "attn_k_norm"), {p.head_dim}, Spec::Norm});
    }
    if (gemma) t.push_back({blk(l, "post_attention_norm"), {e}, Spec::Norm});
    t.push_back({blk(l, "ffn_norm"), {e}, Spec::Norm});
    if (!phi3) t.push_back({blk(l, "ffn_gate"), {e, p.n_ff}, Spec::Matrix});
    t.push_back({blk(l, "ffn_up"), {e, phi3 ? 2 * p.n_ff : p.n_ff}, Spec::Matrix});
    t.push_back({blk(l, "ffn_down"), {p.n_ff, e}, Spec::Matrix});
    if (gemma) t.push_back({blk(l, "post_ffw_norm"), {e}, Spec::Norm});
  }
  if (p.arch != "bert") t.push_back({"output_norm.weight", {e}, Spec::Norm});
  if ((p.arch == "llama" || p.arch == "phi3") && !p.tied)
    t.push_back({"output.weight", {e, p.n_vocab}, Spec::Matrix});
  if (p.tied && p.arch == "llama")  // llama-3 RoPE factors: near 1 (values don't matter for speed)
    t.push_back({"rope_freqs.weight", {p.head_dim / 2}, Spec::Norm});
  if (p.arch == "gemma-embedding") {
    t.push_back({"dense_2.weight", {e, 4 * e}, Spec::Matrix});
    t.push_back({"dense_3.weight", {4 * e, e}, Spec::Matrix});
  }
  return t;
}

void set_u32(Metadata& m, const std::string& k, int64_t v) { m.set(k, MetaValue::of_u32(uint32_t(v))); }

Metadata make_metadata(const Preset& p) {
  Metadata m;
  const std::string a = p.arch;
  m.set("general.architecture", MetaValue::of_string(a));
  m.set("general.name", MetaValue::of_string(p.name + "-synth"));
  set_u32(m, "general.file_type", 0);
  set_u32(m, a + ".context_length", p.n_ctx);
  set_u32(m, a + ".embedding_length", p.n_embd);
  set_u32(m, a + ".block_count", p.n_layer);
  set_u32(m, a + ".feed_forward_length", p.n_ff);
  set_u32(m, a + ".attention.head_count", p.n_head);
  if (a == "bert") {
    m.set(a + ".attention.layer_norm_epsilon", MetaValue::of_f32(1e-12f));
    m.set(a + ".attention.causal", MetaValue::of_bool(false));
    set_u32(m, a + ".pooling_type", 2);  // CLS
  } else {
    set_u32(m, a + ".attention.head_count_kv", p.n_head_kv);
    const bool eps5 = a == "llama" || a == "phi3";
    m.set(a + ".attention.layer_norm_rms_epsilon", MetaValue::of_f32(eps5 ? 1e-5f : 1e-6f));
    if (a == "llama" || a == "phi3") set_u32(m, a + ".rope.dimension_count", p.head_dim);
    if (a != "llama") {
      set_u32(m, a + ".attention.key_length", p.head_dim);
      set_u32(m, a + ".attention.value_length", p.head_dim);
    }
    const float base = a == "llama" ? (p.tied ? 5e5f : 1e4f) : a == "phi3" || a == "gemma2" ? 1e4f : 1e6f;
    m.set(a + ".rope.freq_base", MetaValue::of_f32(base));
    if (a == "phi3") set_u32(m, a + ".rope.scaling.original_context_length", p.n_ctx);
    if (a == "gemma2") {
      set_u32(m, a + ".attention.sliding_window", 4096);
      m.set(a + ".attn_logit_softcapping", MetaValue::of_f32(50.0f));
      m.set(a + ".final_logit_softcapping", MetaValue::of_f32(30.0f));
    }
    if (a == "gemma-embedding") {
      set_u32(m, a + ".attention.sliding_window", 512);
      set_u32(m, a + ".pooling_type", 1);  // mean
      set_u32(m, a + ".dense_2_feat_in", p.n_embd);
      set_u32(m, a + ".dense_2_feat_out", 4 * p.n_embd);
      set_u32(m, a + ".dense_3_feat_in", 4 * p.n_embd);
      set_u32(m, a + ".dense_3_feat_out", p.n_embd);
    }
  }

  // A valid tokenizer of the right size. SPM (llama, gemma): unk/bos/eos,
  // the 256 byte tokens, then made-up pieces; WordPiece (bert): BERT's
  // special ids, ASCII characters and their ## continuations, then fillers.
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  tokens.reserve(size_t(p.n_vocab));
  if (a == "bert") {
    tokens.push_back("[PAD]");
    for (int i = 1; i < 100; ++i) tokens.push_back("[unused" + std::to_string(i - 1) + "]");
    for (const char* s : {"[UNK]", "[CLS]", "[SEP]", "[MASK]"}) tokens.push_back(s);
    // WordPiece vocabularies are lower-case: ASCII without capitals, then ## forms.
    for (char c = 33; c < 127; ++c)
      if (!std::isupper(static_cast<unsigned char>(c))) tokens.push_back(std::string(1, c));
    for (char c = 33; c < 127; ++c)
      if (!std::isupper(static_cast<unsigned char>(c))) tokens.push_back("##" + std::string(1, c));
    for (int64_t i = int64_t(tokens.size()); i < p.n_vocab; ++i) tokens.push_back("w" + std::to_string(i));
    types.assign(tokens.size(), 1);
    for (int i : {0, 100, 101, 102, 103}) types[size_t(i)] = 3;
    m.set("tokenizer.ggml.model", MetaValue::of_string("bert"));
    m.set("tokenizer.ggml.pre", MetaValue::of_string("bert-bge"));
    m.set("tokenizer.ggml.tokens", MetaValue::of_strings(std::move(tokens)));
    m.set("tokenizer.ggml.token_type", MetaValue::of_i32s(types));
    set_u32(m, "tokenizer.ggml.token_type_count", 2);
    set_u32(m, "tokenizer.ggml.unknown_token_id", 100);
    set_u32(m, "tokenizer.ggml.seperator_token_id", 102);
    set_u32(m, "tokenizer.ggml.padding_token_id", 0);
    set_u32(m, "tokenizer.ggml.cls_token_id", 101);
    set_u32(m, "tokenizer.ggml.mask_token_id", 103);
    return m;
  }
  tokens = {"<unk>", "<s>", "</s>"};
  types = {2, 3, 3};
  char hex[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(hex, sizeof hex, "<0x%02X>", b);
    tokens.push_back(hex);
    types.push_back(6);
  }
  for (int64_t i = int64_t(tokens.size()); i < p.n_vocab; ++i) {
    tokens.push_back("\xE2\x96\x81t" + std::to_string(i));  // ▁t<i>
    types.push_back(1);
  }
  if (a == "phi3") {  // llama.cpp's Phi-3 vocab fix-up (general.name "phi-3...") looks it up
    tokens.back() = "<|endoftext|>";
    types.back() = 3;
  }
  scores.resize(tokens.size());
  for (size_t i = 0; i < scores.size(); ++i) scores[i] = types[i] == 1 ? -float(i) : 0.0f;
  m.set("tokenizer.ggml.model", MetaValue::of_string("llama"));
  m.set("tokenizer.ggml.tokens", MetaValue::of_strings(std::move(tokens)));
  m.set("tokenizer.ggml.scores", MetaValue::of_f32s(scores));
  m.set("tokenizer.ggml.token_type", MetaValue::of_i32s(types));
  set_u32(m, "tokenizer.ggml.unknown_token_id", 0);
  set_u32(m, "tokenizer.ggml.bos_token_id", 1);
  set_u32(m, "tokenizer.ggml.eos_token_id", 2);
  if (a == "gemma-embedding") {
    m.set("tokenizer.ggml.add_bos_token", MetaValue::of_bool(true));
    m.set("tokenizer.ggml.add_eos_token", MetaValue::of_bool(true));
  }
  return m;
}

// splitmix64: a fast, seedable generator; each row gets its own stream so
// the result does not depend on the thread count.
inline uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

struct Buffer {
  std::vector<std::vector<float>> tensors;
};

}  // namespace

std::unique_ptr<ModelFile> make_model(const Preset& p, uint64_t seed, int threads,
                                      const std::function<void(size_t, size_t)>& progress) {
  auto file = std::make_unique<ModelFile>();
  file->path = p.name + "-synth.gguf";
  file->format = "gguf";
  file->version = 3;
  file->meta = make_metadata(p);
  file->meta.source = file->path.string();
  auto specs = tensor_specs(p);
  auto store = std::make_shared<Buffer>();
  store->tensors.resize(specs.size());
  ThreadPool pool(threads);
  for (size_t k = 0; k < specs.size(); ++k) {
    const Spec& s = specs[k];
    int64_t n = 1;
    for (int64_t d : s.ne) n *= d;
    auto& data = store->tensors[k];
    data.resize(size_t(n));
    const int64_t ne0 = s.ne[0], rows = n / ne0;
    // Uniform with the variance of N(0, 1/fan_in): same magnitudes, cheaper to draw.
    const float half_width = std::sqrt(3.0f / float(ne0));
    const uint64_t tseed = mix(seed ^ mix(k + 1));
    pool.parallel_for(rows, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        uint64_t state = mix(tseed + uint64_t(r));
        float* row = data.data() + r * ne0;
        for (int64_t i = 0; i < ne0; ++i) {
          state = mix(state);
          const float u = float(state >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f;  // [-1, 1)
          row[i] = s.fill == Spec::Matrix ? u * half_width
                   : s.fill == Spec::Norm   ? 1.0f + 0.1f * u
                   : s.fill == Spec::Bias   ? 0.25f * u
                                            : 0.0f;
        }
      }
    });
    TensorInfo t;
    t.name = s.name;
    t.type = TypeId::F32;
    t.n_dims = int(s.ne.size());
    for (size_t d = 0; d < s.ne.size(); ++d) t.ne[d] = s.ne[d];
    t.data = std::span<const std::byte>(reinterpret_cast<const std::byte*>(data.data()), data.size() * 4);
    file->tensors.push_back(t);
    if (progress) progress(k + 1, specs.size());
  }
  file->storage = store;
  file->build_index();
  return file;
}

}  // namespace tessel::synth
