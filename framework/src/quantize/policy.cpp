// llama-quantize's per-tensor type choice, restated from src/llama-quant.cpp
// (tensor_allows_quantization, llama_tensor_get_type_impl,
// tensor_type_fallback) for the presets tessel offers: legacy quants, k-quant
// mixes, F16 and BF16. No imatrix and no manual overrides.
#include <algorithm>
#include <cctype>
#include <cstdio>

#include "tessel/error.hpp"
#include "tessel/quantize.hpp"

namespace tessel::quantize {
namespace {

// llama_ftype numbers (llama.h); written to general.file_type.
enum Ftype : uint32_t {
  F16 = 1, Q4_0 = 2, Q4_1 = 3, Q8_0 = 7, Q5_0 = 8, Q5_1 = 9, Q2_K = 10,
  Q3_K_S = 11, Q3_K_M = 12, Q3_K_L = 13, Q4_K_S = 14, Q4_K_M = 15,
  Q5_K_S = 16, Q5_K_M = 17, Q6_K = 18, BF16 = 32,
};

enum class Category {
  TOKEN_EMBD, ATTENTION_Q, ATTENTION_V, ATTENTION_K, ATTENTION_QKV, ATTENTION_KV_B,
  ATTENTION_OUTPUT, FFN_UP, FFN_GATE, FFN_DOWN, OUTPUT, OTHER,
};

bool has(const std::string& s, std::string_view sub) { return s.find(sub) != std::string::npos; }

Category category_of(const std::string& name) {
  if (name == "output.weight") return Category::OUTPUT;
  if (name == "token_embd.weight" || name == "per_layer_token_embd.weight") return Category::TOKEN_EMBD;
  if (has(name, "attn_qkv.weight")) return Category::ATTENTION_QKV;
  if (has(name, "attn_kv_b.weight")) return Category::ATTENTION_KV_B;
  if (has(name, "attn_v.weight")) return Category::ATTENTION_V;
  if (has(name, "attn_k.weight")) return Category::ATTENTION_K;
  if (has(name, "attn_q.weight")) return Category::ATTENTION_Q;
  if (has(name, "attn_output.weight")) return Category::ATTENTION_OUTPUT;
  if (has(name, "ffn_up")) return Category::FFN_UP;
  if (has(name, "ffn_gate")) return Category::FFN_GATE;
  if (has(name, "ffn_down")) return Category::FFN_DOWN;
  return Category::OTHER;
}
// attn_v-like tensors are the most sensitive to quantization.
bool is_attn_v(Category c) {
  return c == Category::ATTENTION_V || c == Category::ATTENTION_QKV || c == Category::ATTENTION_KV_B;
}

int n_dims_of(const TensorInfo& t) {  // ggml_n_dims: trailing 1s don't count
  int n = 4;
  while (n > 1 && t.ne[size_t(n - 1)] == 1) --n;
  return n;
}

bool allows_quantization(const TensorInfo& t) {
  if (n_dims_of(t) < 2) return false;
  const std::string& n = t.name;
  if (n.size() < 6 || n.compare(n.size() - 6, 6, "weight") != 0) return false;
  static const char* const kKeep[] = {
      "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
      "per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight",
      "indexer.q_proj.weight", "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight",
      "time_mix_w2.weight", "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight",
      "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight",
      "time_mix_g2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
      "time_mix_lerp_fused.weight", "attn_rel_b.weight", ".position_embd", "sam.pos_embd",
      "sam.neck.", "sam.net_", ".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook",
      "mm.a.code_embd"};
  for (const char* k : kKeep)
    if (has(n, k)) return false;
  return n != "position_embd.weight" && n != "token_types.weight";
}

bool is_quantized(TypeId t) { return type_traits(t)->block_elems > 1; }
int64_t block_of(TypeId t) { return int64_t(type_traits(t)->block_elems); }

bool use_more_bits(int i_layer, int n_layers) {
  return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2;
}

struct State {
  const Preset& preset;
  const ModelInfo& info;
  const Overrides& over;
  bool tied_embeddings = true;
  int n_attention_wv = 0, i_attention_wv = 0;
  int n_layer = 0, i_ffn_down = 0, i_ffn_gate = 0, i_ffn_up = 0;

  bool falcon() const { return info.arch == "falcon"; }
  // Mixture-of-experts files interleave experts, so the layer comes from the name.
  std::pair<int, int> layer_info(int counter, const std::string& name) const {
    if (info.n_expert <= 1) return {counter, n_layer};
    int il = -1;
    if (std::sscanf(name.c_str(), "blk.%d.", &il) != 1 || il < 0 || il >= n_layer)
      throw Error("tensor " + name + ": cannot tell its layer (expected blk.N. with N < " +
                  std::to_string(n_layer) + ")");
    return {il, n_layer};
  }

  TypeId mix(TypeId t, const TensorInfo& tensor, Category cat) {
    const uint32_t f = preset.ftype;
    if (cat == Category::OUTPUT || (tied_embeddings && cat == Category::TOKEN_EMBD)) {
      if (over.output_type) t = *over.output_type;
      else if (falcon() || tensor.ne[0] % block_of(t) != 0) t = TypeId::Q8_0;
      else if (t != TypeId::Q8_0) t = TypeId::Q6_K;
    } else if (cat == Category::TOKEN_EMBD) {
      // no preset tessel offers changes untied token embeddings
    } else if (is_attn_v(cat)) {
      if (f == Q2_K) t = info.n_gqa() >= 4 ? TypeId::Q4_K : TypeId::Q3_K;
      else if (f == Q3_K_M) t = i_attention_wv < 2 ? TypeId::Q5_K : TypeId::Q4_K;
      else if (f == Q3_K_L) t = TypeId::Q5_K;
      else if ((f == Q4_K_M || f == Q5_K_M) && use_more_bits(i_attention_wv, n_attention_wv)) t = TypeId::Q6_K;
      else if (f == Q4_K_S && i_attention_wv < 4) t = TypeId::Q5_K;
      // LLaMA-2 70B: 8 heads share attn_v, so more bits there cost little.
      const bool is_70b = info.arch == "llama" && info.n_layer == 80 && info.n_head != info.n_head_kv;
      if (is_70b && (t == TypeId::Q3_K || t == TypeId::Q4_K)) t = TypeId::Q5_K;
      if (info.n_expert == 8) t = TypeId::Q8_0;
      ++i_attention_wv;
    } else if (cat == Category::ATTENTION_K) {
      if (info.n_expert == 8) t = TypeId::Q8_0;
    } else if (cat == Category::FFN_DOWN) {
      auto [il, nl] = layer_info(i_ffn_down, tensor.name);
      if (f == Q2_K) t = TypeId::Q3_K;
      else if (f == Q3_K_M)
        t = il < nl / 16 ? TypeId::Q5_K : (!falcon() || use_more_bits(il, nl)) ? TypeId::Q4_K : TypeId::Q3_K;
      else if (f == Q3_K_L) t = falcon() ? TypeId::Q4_K : TypeId::Q5_K;
      else if (f == Q4_K_M) {
        if (falcon()) t = il < nl / 16 ? TypeId::Q6_K : use_more_bits(il, nl) ? TypeId::Q5_K : TypeId::Q4_K;
        else if (use_more_bits(il, nl)) t = TypeId::Q6_K;
      } else if (f == Q5_K_M && use_more_bits(il, nl)) t = TypeId::Q6_K;
      else if (f == Q4_K_S && !falcon() && il < nl / 8) t = TypeId::Q5_K;
      ++i_ffn_down;
    } else if (cat == Category::ATTENTION_OUTPUT) {
      if (!falcon()) {
        if (info.n_expert == 8) {
          if (f == Q2_K || f == Q3_K_S || f == Q3_K_M || f == Q4_K_S || f == Q4_K_M) t = TypeId::Q5_K;
        } else if (f == Q2_K) t = TypeId::Q3_K;
        else if (f == Q3_K_M) t = TypeId::Q4_K;
        else if (f == Q3_K_L) t = TypeId::Q5_K;
      } else if (f == Q3_K_L) t = TypeId::Q4_K;
    } else if (cat == Category::FFN_GATE) {
      layer_info(i_ffn_gate, tensor.name);  // validates expert names
      ++i_ffn_gate;
    } else if (cat == Category::FFN_UP) {
      layer_info(i_ffn_up, tensor.name);
      ++i_ffn_up;
    }
    return t;
  }

  // A row length the type's block doesn't divide: step down to a 32-block type, else F16.
  TypeId fallback(TypeId t, const TensorInfo& tensor, std::string& warning) {
    const int64_t ncols = tensor.ne[0];
    if (ncols % block_of(t) == 0) return t;
    TypeId r;
    switch (t) {
      case TypeId::Q2_K: case TypeId::Q3_K: r = TypeId::Q4_0; break;
      case TypeId::Q4_K: r = TypeId::Q5_0; break;
      case TypeId::Q5_K: r = TypeId::Q5_1; break;
      case TypeId::Q6_K: r = TypeId::Q8_0; break;
      default:
        throw Error("tensor " + tensor.name + ": row length " + std::to_string(ncols) +
                    " is not a multiple of " + type_name(t) + "'s block size " +
                    std::to_string(block_of(t)) + " and " + type_name(t) + " has no fallback type");
    }
    if (ncols % block_of(r) != 0) r = TypeId::F16;
    warning = tensor.name + ": row length " + std::to_string(ncols) + " not divisible by " +
              std::to_string(block_of(t)) + " (" + type_name(t) + "), using " + type_name(r);
    return r;
  }
};

int meta_int(const Metadata& m, const std::string& key, int def) {
  const MetaValue* v = m.find(key);
  if (!v) return def;
  if (v->is_array()) return v->count ? int(v->int_at(0)) : def;  // per-layer arrays: layer 0
  return int(m.get_int(key));
}

}  // namespace

const std::vector<Preset>& presets() {
  static const std::vector<Preset> list = {
      {"Q8_0", Q8_0, TypeId::Q8_0},     {"Q4_0", Q4_0, TypeId::Q4_0},
      {"Q4_1", Q4_1, TypeId::Q4_1},     {"Q5_0", Q5_0, TypeId::Q5_0},
      {"Q5_1", Q5_1, TypeId::Q5_1},     {"Q2_K", Q2_K, TypeId::Q2_K},
      {"Q3_K_S", Q3_K_S, TypeId::Q3_K}, {"Q3_K_M", Q3_K_M, TypeId::Q3_K},
      {"Q3_K_L", Q3_K_L, TypeId::Q3_K}, {"Q4_K_S", Q4_K_S, TypeId::Q4_K},
      {"Q4_K_M", Q4_K_M, TypeId::Q4_K}, {"Q5_K_S", Q5_K_S, TypeId::Q5_K},
      {"Q5_K_M", Q5_K_M, TypeId::Q5_K}, {"Q6_K", Q6_K, TypeId::Q6_K},
      {"F16", F16, TypeId::F16},        {"BF16", BF16, TypeId::BF16},
  };
  return list;
}

const Preset* find_preset(std::string_view name) {
  for (const auto& p : presets()) {
    if (p.name.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i)
      same = std::toupper(static_cast<unsigned char>(name[i])) == p.name[i];
    if (same) return &p;
  }
  return nullptr;
}

std::string preset_names() {
  std::string s;
  for (const auto& p : presets()) s += (s.empty() ? "" : ", ") + std::string(p.name);
  return s;
}

ModelInfo model_info(const Metadata& meta) {
  ModelInfo info;
  info.arch = meta.get_string("general.architecture", "");
  const std::string a = info.arch + ".";
  info.n_layer = meta_int(meta, a + "block_count", 0);
  info.n_head = meta_int(meta, a + "attention.head_count", 0);
  info.n_head_kv = meta_int(meta, a + "attention.head_count_kv", info.n_head);
  info.n_expert = meta_int(meta, a + "expert_count", 0);
  return info;
}

std::vector<size_t> tensor_order(const std::vector<TensorInfo>& tensors) {
  auto layer = [](const std::string& n) {
    int il = -1;
    std::sscanf(n.c_str(), "blk.%d.", &il);
    return il;
  };
  std::vector<size_t> order(tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const int la = layer(tensors[a].name), lb = layer(tensors[b].name);
    if (la != lb) return la < lb;
    return tensors[a].name < tensors[b].name;
  });
  return order;
}

// A type the user named for one tensor is taken as given (llama-quantize
// does not fall back from it either), but one whose block does not divide the
// tensor's rows is refused here, naming the tensor and the option, instead of
// failing inside the codec.
static TypeId explicit_type(TypeId t, const TensorInfo& tensor, const char* option) {
  if (tensor.ne[0] % block_of(t) != 0)
    throw Error(std::string(option) + " " + type_name(t) + ": tensor " + tensor.name + " has rows of " +
                std::to_string(tensor.ne[0]) + " values, not a multiple of " + type_name(t) + "'s block size " +
                std::to_string(block_of(t)) + "; choose a type with a smaller block (Q8_0, F16)");
  return t;
}

std::vector<Choice> choose_types(const Preset& preset, const ModelInfo& info,
                                 const std::vector<const TensorInfo*>& ordered,
                                 const Overrides& overrides) {
  State st{preset, info, overrides};
  st.n_layer = info.n_layer;
  for (const TensorInfo* t : ordered) {
    const Category c = category_of(t->name);
    if (is_attn_v(c)) ++st.n_attention_wv;
    if (c == Category::OUTPUT) st.tied_embeddings = false;
  }
  std::vector<Choice> out;
  for (const TensorInfo* t : ordered) {
    Choice ch{t->type, false, {}};
    const Category cat = category_of(t->name);
    if (!allows_quantization(*t)) {
      // kept as is
    } else if (overrides.token_embd_type && cat == Category::TOKEN_EMBD) {
      ch.type = explicit_type(*overrides.token_embd_type, *t, "--token-embedding-type");
    } else if (overrides.output_type && cat == Category::OUTPUT) {
      ch.type = explicit_type(*overrides.output_type, *t, "--output-tensor-type");
    } else {
      TypeId nt = preset.default_type;
      if (is_quantized(nt)) {
        if (!overrides.pure) nt = st.mix(nt, *t, cat);
        nt = st.fallback(nt, *t, ch.warning);
      }
      ch.type = nt;
    }
    ch.quantize = ch.type != t->type;
    out.push_back(std::move(ch));
  }
  return out;
}

}  // namespace tessel::quantize
