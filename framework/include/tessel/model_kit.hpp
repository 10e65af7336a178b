#pragma once
// The model kit: what every architecture plugin would otherwise write again.
// An architecture is a kit::Transformer subclass whose constructor lists its
// tensors (Weights) and hyperparameters (HParamReader) and whose graph()
// is its layer loop over a Pass (composites: norms, linear, attention with
// RoPE and the KV cache, FFNs, output head). The kit owns the plumbing:
// batch checks, token embedding and scaling, KV allocation and rollback,
// masks, output-row selection, dumps (Outputs::sink) and one context (thread
// pool, scratch, optional KV cache, flash-attention flag).
//
//   class MyModel : public kit::Transformer {
//    public:
//     MyModel(kit::Weights& w, const RuntimeOptions& o) : Transformer(w, o) { ...load... }
//     void graph(kit::Pass& p) const override { ...layer loop... }
//   };
//   TESSEL_PLUGIN(..., [] { return kit::architecture<MyModel>(); })
#include <cstdint>
#include <initializer_list>
#include <list>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tessel/architecture.hpp"
#include "tessel/kernels.hpp"
#include "tessel/kv_cache.hpp"
#include "tessel/threadpool.hpp"
#include "tessel/vision.hpp"

namespace tessel::kit {

namespace k = kernels;

// ---------------------------------------------------------------- hparams --

// Reads "<general.architecture>.<key>" with range checks. Every failure is
// one line naming the file, the full key, the value and what was expected.
class HParamReader {
 public:
  explicit HParamReader(const ModelFile& f);
  const std::string& arch() const { return arch_; }
  const Metadata& meta() const { return meta_; }
  std::string key(std::string_view k) const { return arch_ + "." + std::string(k); }
  bool has(std::string_view k) const { return meta_.has(key(k)); }

  // Integers in [lo, hi]; the second form uses `def` when the key is absent.
  int64_t count(std::string_view k, int64_t lo, int64_t hi) const;
  int64_t count(std::string_view k, int64_t def, int64_t lo, int64_t hi) const;
  // Finite floats: > 0 (epsilons, rope bases, scales) / >= 0 (0 = off: softcaps).
  float positive(std::string_view k, double def) const;
  float non_negative(std::string_view k, double def) const;
  std::string string(std::string_view k, const std::string& def) const;
  bool flag(std::string_view k, bool def) const;
  // An array of exactly n finite floats; `nonzero`: none may be 0 (divisors).
  std::vector<float> floats(std::string_view k, size_t n, bool nonzero = false) const;
  // llama_pooling_type numbering: 0 none, 1 mean, 2 cls, 3 last, 4 rank; absent -> none.
  std::string pooling(std::string_view k) const;
  [[noreturn]] void fail(std::string_view k, const std::string& what) const;

 private:
  const Metadata& meta_;
  std::string path_, arch_;
};

// The shape every transformer shares, into `hp`: embedding_length,
// block_count, attention.head_count(_kv), feed_forward_length,
// context_length (default `n_ctx_default`), attention.key_length (default
// n_embd / n_head, which must then divide) and value_length (= key_length).
// Counts are range-checked; head_count must be a multiple of head_count_kv.
void read_transformer(const HParamReader& r, HParams& hp, int64_t n_ctx_default);

// RoPE of a head of `head_dim`: rope.dimension_count (even, <= head_dim),
// rope.freq_base (default `base`), rope.scaling.type none | linear
// (rope.scaling.factor > 0); other scaling types are errors.
k::RopeParams read_rope(const HParamReader& r, int64_t head_dim, bool neox, double base);

// Sliding-window attention: attention.sliding_window (0: none; absent:
// `window`, e.g. gemma2's 4096) and which layers slide:
// attention.sliding_window_pattern as a per-layer bool array, or a number n
// (layer il slides iff il % n < n - 1; 0: all), default `pattern`. Returns one
// flag per layer; `mask` gets the window and `type`.
std::vector<bool> read_swa(const HParamReader& r, int64_t n_layer, int64_t pattern,
                           k::MaskParams::Swa type, k::MaskParams& mask, int64_t window = 0);

// The ViT block of an mmproj file ("<arch>.vision.*"): image and patch size,
// width, FFN, layers, heads, projector.scale_factor (default `n_merge`),
// image_mean / image_std; checks that the sizes agree. `vit` gets the
// encoder's transformer shape. Returns attention.layer_norm_epsilon.
float read_vision(const HParamReader& r, VisionHParams& v, HParams& vit, int64_t n_merge);

// ---------------------------------------------------------------- weights --

struct Linear {          // y = W x (+ b)
  k::Matrix w;
  std::vector<float> b;  // empty: no bias
  bool present() const { return w.data != nullptr; }
  int64_t n_out() const { return w.n_out; }
};

struct Norm {            // y = norm(x) * w (+ b)
  std::vector<float> w, b;
  bool present() const { return !w.empty(); }
};

enum class Bias { none, optional, required };

// The tensors of self-attention: q/k/v (or one fused qkv: rows Q, K, V),
// output, optional per-head q/k RMSNorm weights.
struct AttnWeights {
  Linear q, k, v, qkv, o;
  std::vector<float> q_norm, k_norm;
};

// Loads tensors of one file with shape checks; remembers which were used so
// check_all_used() can refuse a file with tensors the architecture ignores
// (llama.cpp: "wrong number of tensors"). Errors name the file and tensor.
class Weights {
 public:
  Weights(const ModelFile& f, const CodecSet& codecs);
  const ModelFile& file() const { return f_; }
  const CodecSet& codecs() const { return codecs_; }
  const HParamReader& hparams() const { return hp_; }
  std::string path() const;
  bool has(const std::string& name) const { return f_.find(name) != nullptr; }
  const TensorInfo& info(const std::string& name) const;  // marks it used

  // A 2-D weight [n_out rows of n_in]; n_out < 0 accepts the file's row count.
  k::Matrix matrix(const std::string& name, int64_t n_in, int64_t n_out);
  // A weight of exactly n values as floats (any codec, any dims).
  std::vector<float> vector(const std::string& name, int64_t n);
  std::vector<float> optional_vector(const std::string& name, int64_t n);  // empty if absent
  // "<base>.weight" (+ "<base>.bias"); optional_linear: not present if absent.
  Linear linear(const std::string& base, int64_t n_in, int64_t n_out, Bias bias = Bias::none);
  Linear optional_linear(const std::string& base, int64_t n_in, int64_t n_out, Bias bias = Bias::none);
  Norm norm(const std::string& base, int64_t n, Bias bias = Bias::none);
  Norm optional_norm(const std::string& base, int64_t n, Bias bias = Bias::none);
  // blk.<il>.attn_q/k/v or attn_qkv, attn_output, attn_q_norm / attn_k_norm
  // when present (head_dim each). Biases per `bias` (attn_output: `out_bias`).
  AttnWeights attention(int64_t il, const HParams& hp, Bias bias = Bias::none,
                        Bias out_bias = Bias::none);
  // The same under any prefix ("v.blk.3.") and output name (clip's "attn_out").
  AttnWeights attention(const std::string& prefix, const HParams& hp, Bias bias, Bias out_bias,
                        const std::string& out = "attn_output");

  // Throws naming the first unused tensors when any tensor was not loaded.
  void check_all_used() const;

 private:
  const ModelFile& f_;
  const CodecSet& codecs_;
  HParamReader hp_;
  std::set<std::string> used_;
};

// "blk.<il>.<name>"
std::string blk(int64_t il, std::string_view name);

// Matrices over bytes the model owns: weights converted to another type
// (clip's F16 patch kernel: ggml's im2col is F16), transposed or rebuilt.
// Addresses stay put for the owner's lifetime.
class OwnedMatrices {
 public:
  // `f` is [n_out rows of n_in]; stored in `type` (rounded as ggml does).
  k::Matrix make(const CodecSet& codecs, const std::string& name, TypeId type, std::span<const float> f,
                 int64_t n_in, int64_t n_out);

 private:
  std::list<std::vector<std::byte>> bytes_;
};

// [rows][cols] -> [cols][rows].
std::vector<float> transpose(std::span<const float> f, int64_t rows, int64_t cols);

// ---------------------------------------------------------------- context --

// One session: the thread pool every pass uses (threads from RuntimeOptions),
// scratch, the KV cache when the model keeps one, the flash-attention flag.
class ModelContext : public Context {
 public:
  ModelContext(const HParams& hp, const RuntimeOptions& o, int64_t n_ctx, bool kv_cache);
  void clear() override;
  int32_t n_ctx() const override { return n_ctx_; }
  int32_t n_past(int32_t seq) const override;
  void remove_seq(int32_t seq) override;
  void truncate_seq(int32_t seq, int32_t from_pos) override;

  ThreadPool pool;
  std::optional<KvCache> kv;  // empty for encoders
  bool flash = false;
  k::Scratch scratch;
  float* buf(size_t slot, size_t n);  // grow-only float buffers reused across passes
  std::vector<float>& vec(size_t slot);

 private:
  int32_t n_ctx_;
  std::vector<std::vector<float>> bufs_;
};

// y = W in (+ b) on a kit context's threads (pooled heads run outside a pass).
void linear(Context& ctx, const Linear& l, const float* in, int64_t rows, float* y);

// ------------------------------------------------------------------- pass --

// One forward() call. x is the residual stream [m, n_embd]; m starts at the
// batch size and drops to the number of output rows at keep_outputs() in the
// last layer (llama.cpp's inp_out_ids).
class Pass {
 public:
  Pass(const HParams& hp, const Batch& b, ModelContext& c, Outputs& out, std::span<const int64_t> cells,
       const k::MaskParams& swa);

  const HParams& hp;
  const Batch& batch;
  ModelContext& ctx;
  Outputs& out;
  int64_t n;         // batch rows
  int64_t m;         // rows still computed
  float* x;          // residual stream

  // A scratch buffer of `floats` floats (slots 0..; slot 0 is x).
  float* buf(size_t slot, int64_t floats) { return ctx.buf(slot + 16, size_t(floats)); }
  bool dumping() const { return out.sink != nullptr; }
  // A tensor for the sink as llama.cpp names it: name-il (il < 0: name), ne in ggml order.
  void emit(const char* name, int il, const float* d, std::initializer_list<int64_t> ne) const;
  bool last_layer(int il) const { return il == int(hp.n_layer) - 1; }

  // ---- composites (m rows each; `il` names the dumps)
  // RMS / layer norm of rows of `width` (default n_embd): emits "norm-il",
  // "norm_w-il" when there is a bias, then `name-il` when name is set.
  void rms_norm(const float* in, float* y, const Norm& w, float eps, const char* name, int il,
                int64_t rows = -1, int64_t width = -1) const {
    norm(true, in, y, w, eps, name, il, rows, width);
  }
  void layer_norm(const float* in, float* y, const Norm& w, float eps, const char* name, int il,
                  int64_t rows = -1, int64_t width = -1) const {
    norm(false, in, y, w, eps, name, il, rows, width);
  }
  void norm(bool rms, const float* in, float* y, const Norm& w, float eps, const char* name, int il,
            int64_t rows = -1, int64_t width = -1) const;
  // y = W in (+ b) for `rows` rows (default m).
  void linear(const Linear& l, const float* in, float* y, int64_t rows = -1) const;
  // y = a + b over m rows of n_embd.
  void add(const float* a, const float* b, float* y) const;

  struct Attn {
    float kq_scale = 1.0f;   // inside the softmax
    float q_scale = 0.0f;    // > 0: Q multiplied by it after RoPE (gemma's f_attention_scale)
    float softcap = 0.0f;    // tanh cap on K·Q (gemma2)
    bool swa = false;        // this layer uses the sliding-window mask
    float norm_eps = 1e-6f;  // per-head q/k RMSNorm
    const k::RopeParams* rope = nullptr;  // null: no RoPE
  };
  // Self-attention of layer il on `in` (normed rows): Q/K/V (+ biases, fused
  // or not), per-head q/k norms, RoPE, the KV cache (decoders) or the batch's
  // own rows per sequence (encoders), softmax(K·Q) V, output projection into
  // `y` [m, n_embd]. Emits Qcur/Kcur/Vcur, kq, kq_soft_max, kqv, kqv_out, attn_out.
  void self_attention(int il, const AttnWeights& w, const float* in, float* y, const Attn& a);

  enum class Act { silu, gelu };
  // Gated FFN down(act(gate in) * up in) (gate absent: up gives gate then up
  // rows, phi3's fused ffn_up) or, with gated = false, down(act(up in)).
  // Emits ffn_gate, ffn_up, ffn_swiglu / ffn_geglu / ffn_gelu, ffn_out (unless
  // `out_name` is null).
  void ffn(const Linear& gate, const Linear& up, const Linear& down, Act act, const float* in,
           float* y, int il, bool gated = true, const char* out_name = "ffn_out") const;

  // In the last layer, keeps only the output rows of `bufs` (each [m, n_embd])
  // and lowers m; no-op elsewhere or when every row is an output.
  void keep_outputs(int il, std::initializer_list<float*> bufs);
  // The final norm (if present), hidden states, the output head (if present)
  // with an optional final softcap; `in` is the residual stream.
  void finish(const float* in, const Norm& out_norm, float eps, bool rms, const k::Matrix* output,
              float final_softcap = 0.0f);

 private:
  void select_rows(float* buf, int64_t width) const;
  const float* mask(bool swa);

  std::span<const int64_t> cells_;  // the KV cell of each batch row
  k::MaskParams swa_params_;
  int64_t n_kv_ = 0;
  bool mask_built_[2] = {false, false};
  std::vector<int32_t> rows_;
};

// Attention of an encoder batch without cache: q [n, n_head * head_dim], k/v
// [n, n_head_kv * head_dim] (F32), each row attending to the rows of its own
// sequence (mp.causal is ignored; the sliding window applies). Each
// contiguous run of one sequence is handled on its own, so the cost is the
// sum of the squared sequence lengths, not the square of the batch.
void sequence_attention(ThreadPool& pool, const Batch& batch, const float* q, const float* k,
                        const float* v, const k::MaskParams& mp, const k::AttnParams& ap,
                        float* out, k::Scratch& scratch, std::vector<float>& mask_buf);

// ------------------------------------------------------------------ image --

// ggml_im2col of a [3, ny, nx] image into one row per P x P patch (row-major
// patches), each [channel][ky][kx]; `f16` rounds values to F16 as ggml's F16
// im2col does. rows: [(nx/P) * (ny/P), 3 * P * P].
void image_patches(std::span<const float> chw, int64_t nx, int64_t ny, int64_t P, bool f16, float* rows);
// Average of each s x s block of a gx x gy grid of rows of `width`:
// out [(gx/s) * (gy/s), width].
void avg_pool_2d(const float* in, int64_t gx, int64_t gy, int64_t width, int64_t s, float* out);

// ------------------------------------------------------------------ model --

// A transformer over the kit: implements the Model interface; subclasses load
// their tensors in their constructor and write graph().
class Transformer : public Model {
 public:
  const HParams& hparams() const override { return hp_; }
  std::unique_ptr<Context> new_context(const RuntimeOptions& o) const override;
  void embed_tokens(std::span<const TokenId> ids, float* rows) const override;
  void forward(const Batch& batch, Context& ctx, Outputs& out) final;

 protected:
  explicit Transformer(const RuntimeOptions& o) : opts_(o) {}
  // The layer loop and output head over p.x (embedded and scaled input).
  virtual void graph(Pass& p) const = 0;

  RuntimeOptions opts_;
  HParams hp_;
  k::Matrix tok_embd_;
  float token_scale_ = 0.0f;   // > 0: token rows (not raw embd rows) scaled, emitted as inp_scaled
  k::MaskParams swa_;          // sliding-window mask of layers whose Attn::swa is set
  int64_t max_ctx_ = 0;        // > 0: contexts are capped here (position tables)
};

// ---------------------------------------------------------------- decoder --
// The pre-norm decoder block most architectures share (llama, qwen2/3, phi3,
// gemma2/3) and its head, so a plugin lists only what differs.

// token_embd (sets hp.n_vocab), output_norm and the output head: output.weight
// when present unless `always_tied`, else token_embd (tied).
struct Head {
  Norm norm;
  k::Matrix output;
};
Head load_head(Weights& w, HParams& hp, k::Matrix& tok_embd, bool always_tied = false);

struct DecoderLayer {
  Norm attn_norm, post_attn_norm, ffn_norm, post_ffw_norm;  // post_*: gemma's sandwich norms
  AttnWeights attn;
  Linear gate, up, down;  // no gate: up gives gate rows then up rows (phi3's fused ffn_up)
  bool swa = false;       // the layer attends through the sliding-window mask
  bool post_ffw_norm_unnumbered = false;  // dump name "ffn_post_norm" without "-il" (gemma2)
};
struct DecoderOptions {
  Bias qkv_bias = Bias::none;
  bool qk_norm = false;     // attn_q_norm / attn_k_norm required (else loaded when present)
  bool post_norms = false;  // post_attention_norm and post_ffw_norm (gemma2/3)
  bool fused_up = false;    // ffn_up [n_embd, 2 n_ff] instead of ffn_gate + ffn_up
  bool post_ffw_norm_unnumbered = false;  // see DecoderLayer
};
// blk.<il>.attn_norm, attention (Weights::attention), ffn_norm, the FFN and,
// with post_norms, post_attention_norm / post_ffw_norm.
DecoderLayer load_decoder_layer(Weights& w, int64_t il, const HParams& hp, const DecoderOptions& o);

// One block on p.x: x += [post_attn_norm](attention(attn_norm(x)));
// x += [post_ffw_norm](ffn(ffn_norm(x))), RMSNorms with `eps`. In the last
// layer only output rows go on after attention. Emits llama.cpp's names
// (attn_norm, ffn_inp or attn_post_norm/sa_out, ffn_norm, ffn_post_norm, l_out).
void decoder_layer(Pass& p, int il, const DecoderLayer& l, const Pass::Attn& a, float eps,
                   Pass::Act act);

// What a pre-norm decoder plugin states about itself; Decoder reads the rest
// from the file.
struct DecoderSpec {
  int64_t n_ctx = 4096;          // context_length when the file has none
  double eps = 1e-5;             // attention.layer_norm_rms_epsilon when absent
  bool neox = true;              // RoPE layout: pairs (i, i + d/2) or (2i, 2i + 1)
  double rope_base = 10000.0;    // rope.freq_base when absent
  bool rope_whole_head = false;  // rope.dimension_count must be the head size (qwen2/3)
  bool always_tied = false;      // the output head is token_embd even with output.weight
  bool scale_q = false;          // Q * 1/sqrt(head_dim) before K·Q (kq_scale 1) instead of inside
  Pass::Act act = Pass::Act::silu;
  DecoderOptions layer{};
};

// A decoder model: read_transformer, the RMS epsilon, RoPE, the head and
// every DecoderLayer per the spec; graph() runs decoder_layer per layer with
// attn_ (the rope_swa_ RoPE and the sliding-window mask on layers marked
// swa) and finish() with final_softcap_. Subclasses adjust members in their
// constructor (sliding windows, RoPE factors, scales).
class Decoder : public Transformer {
 public:
  Decoder(Weights& w, const RuntimeOptions& o, const DecoderSpec& s);

 protected:
  void graph(Pass& p) const override;

  float eps_;
  k::RopeParams rope_, rope_swa_;  // rope_swa_: sliding layers (a copy of rope_ unless changed)
  Pass::Attn attn_;                // rope/swa are set per layer
  float final_softcap_ = 0.0f;
  Pass::Act act_;
  Head head_;
  std::vector<DecoderLayer> layers_;
};

// ------------------------------------------------------------------ synth --
// Pieces of Architecture::synth_recipe: a plugin lists its keys and tensors
// in file order (each tensor draws its own seeded stream, so the order fixes
// the values).
class SynthBuilder {
 public:
  explicit SynthBuilder(const SynthPreset& p);  // general.* keys
  const SynthPreset& preset;
  const SynthShape& s;
  SynthRecipe recipe;

  // context_length, embedding_length, block_count, feed_forward_length, attention.head_count.
  void transformer_keys();

  void u32(std::string_view k, int64_t v);  // "<arch>.<k>"
  void f32(std::string_view k, float v);
  void flag(std::string_view k, bool v);
  void tensor(std::string name, std::vector<int64_t> ne, SynthTensor::Fill fill = SynthTensor::Fill::matrix);
  void matrix(int64_t il, std::string_view name, int64_t n_in, int64_t n_out);  // blk.il.name.weight
  void norm(int64_t il, std::string_view name, int64_t n);
  // "<base>.weight" of shape ne, then "<base>.bias" [ne.back()] of zeros.
  void with_bias(const std::string& base, std::vector<int64_t> ne, SynthTensor::Fill fill);
  // A valid SentencePiece ("llama") vocabulary of n_vocab: unk, bos, eos, the
  // 256 byte tokens, made-up pieces; `last` (if set) renames the last one as
  // a control token (phi3's <|endoftext|>).
  void spm_vocab(const std::string& last = "");
  // A WordPiece ("bert") vocabulary with BERT's special ids.
  void wpm_vocab();
};

// The standard decoder's file (load_decoder_layer's tensors, output_norm,
// output.weight unless tied) with an SPM vocabulary.
struct SynthDecoder {
  bool fused_qkv = false, qkv_bias = false, qk_norm = false, post_norms = false, fused_up = false;
  bool rope_dims = false;   // write rope.dimension_count
  bool key_length = true;   // write attention.key_length / value_length (always when n_head * head_dim != n_embd)
  float eps = 1e-6f, freq_base = 10000.0f;
  std::string last_token{};  // SynthBuilder::spm_vocab's `last`
};
SynthBuilder synth_decoder(const SynthPreset& p, const SynthDecoder& d);

// ------------------------------------------------------------ architecture --

// An Architecture whose load() builds M(weights, options) and then refuses
// files with tensors M did not load; `presets` / `recipe` serve tessel synth.
using SynthRecipeFn = SynthRecipe (*)(const SynthPreset&);

template <class M>
class ArchitectureOf : public Architecture {
 public:
  ArchitectureOf(std::vector<SynthPreset> presets, SynthRecipeFn recipe)
      : presets_(std::move(presets)), recipe_(recipe) {}
  std::unique_ptr<Model> load(const ModelFile& f, const CodecSet& codecs,
                              const RuntimeOptions& o) const override {
    Weights w(f, codecs);
    auto m = std::make_unique<M>(w, o);
    w.check_all_used();
    return m;
  }
  std::vector<SynthPreset> synth_presets() const override { return presets_; }
  SynthRecipe synth_recipe(const SynthPreset& p) const override {
    return recipe_ ? recipe_(p) : Architecture::synth_recipe(p);
  }

 private:
  std::vector<SynthPreset> presets_;
  SynthRecipeFn recipe_;
};

template <class M>
std::unique_ptr<Architecture> architecture(std::vector<SynthPreset> presets = {},
                                           SynthRecipeFn recipe = nullptr) {
  return std::make_unique<ArchitectureOf<M>>(std::move(presets), recipe);
}

// A decoder that is nothing but its spec (qwen2, qwen3): kit::Decoder(spec)
// models, synth_decoder(preset, synth) files.
std::unique_ptr<Architecture> decoder_architecture(const DecoderSpec& spec, const SynthDecoder& synth,
                                                   std::vector<SynthPreset> presets);

}  // namespace tessel::kit
