#pragma once
// The core kernels every architecture composes. They follow ggml's CPU
// numerics (see docs/numerics.md), so a model built from them lands within the
// golden tolerances of llama.cpp:
//   - matmul quantizes each activation row ONCE to the weight codec's
//     dot_type() (Q8_0, Q8_K, F16...) and calls codec.dot per weight row;
//   - norms accumulate sums of squares in double, scale in float;
//   - RoPE builds its cos/sin cache by repeated float multiplication;
//   - softmax sums in double; attention over an F16 cache rounds Q (for K·Q)
//     and the probabilities (for V·P) to F16;
//   - GELU / GeGLU go through ggml's F16 lookup table.
// Layouts are row-major "token rows": x[t * n + i] is element i of token t
// (ggml's ne0 = n is the contiguous length).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "tessel/codec.hpp"
#include "tessel/tensor.hpp"
#include "tessel/threadpool.hpp"
#include "tessel/types.hpp"

namespace tessel::kernels {

// ---------------------------------------------------------------- weights --

// A 2-D weight [n_out rows of n_in] in any codec (ggml ne = {n_in, n_out}).
struct Matrix {
  std::string name;
  const std::byte* data = nullptr;
  TypeId type = TypeId::F32;
  int64_t n_in = 0, n_out = 0;
  size_t row_size = 0;             // bytes per row
  const Codec* codec = nullptr;    // decodes/dots the weight rows
  const Codec* dot_codec = nullptr;  // encodes activations to codec->dot_type()
  bool file_mapped = false;        // TensorInfo::file_mapped

  // The codec's packed copy (Codec::pack), made on first use by matmul so
  // only matrices that are multiplied pay for it; shared by copies. Null
  // when the codec has none: matmul then dots the rows in place.
  struct Packing {
    std::once_flag once;
    std::unique_ptr<PackedMatrix> packed;
  };
  std::shared_ptr<Packing> packing = std::make_shared<Packing>();
  const PackedMatrix* packed(ThreadPool* pool = nullptr) const;  // pool: packs in parallel

  const std::byte* row(int64_t r) const { return data + size_t(r) * row_size; }
  // Throws tessel::Error naming the tensor when a codec is missing or the
  // tensor is not 2-D (a 1-D tensor is accepted as one row).
  static Matrix from(const TensorInfo& t, const CodecSet& codecs);
};

// Buffers reused across calls so decode steps don't allocate (they only grow).
struct Scratch {
  std::vector<std::byte> act;      // quantized activation rows
  std::vector<float> f;            // per-thread float rows (attention)
  std::vector<uint16_t> h;         // per-thread F16 rows (attention)
};

// y[r * w.n_out + o] = dot(W row o, x row r) for r < n_rows. x is [n_rows, w.n_in].
// Activation rows are quantized once to w.codec->dot_type(); weight rows are
// split over the pool's threads.
void matmul(ThreadPool& pool, const Matrix& w, const float* x, int64_t n_rows, float* y,
            Scratch& scratch);

// Several matrices over the same input rows x [n_rows, n_in] (Q, K and V of a
// layer; gate and up of an FFN): each y[r * w.n_out + o] as matmul() would
// write it, bit for bit, but the activations are quantized once per format
// and all matrices run in one parallel region (one pool barrier instead of
// one per matrix). Every w must have the same n_in; at most 8 targets.
struct MatmulTarget {
  const Matrix* w;
  float* y;
};
void matmul_many(ThreadPool& pool, std::span<const MatmulTarget> targets, const float* x,
                 int64_t n_rows, Scratch& scratch);

// Embedding lookup: out[i] = to_float(W row ids[i]) ([ids.size(), n_in]).
// Throws tessel::Error naming the tensor when an id is out of range.
void get_rows(const Matrix& w, std::span<const TokenId> ids, float* out);

// ------------------------------------------------------------ elementwise --

void add(const float* a, const float* b, float* y, int64_t n);          // y = a + b
void mul(const float* a, const float* b, float* y, int64_t n);          // y = a * b
void scale(float* y, int64_t n, float s);                              // y *= s
// Broadcast one row over n_rows rows (ggml_mul / ggml_add with a 1-D weight).
void mul_row(float* y, const float* w, int64_t n_rows, int64_t n);      // y[r] *= w
void add_row(float* y, const float* b, int64_t n_rows, int64_t n);      // y[r] += b

// ------------------------------------------------------------------ norms --
// Rows of length n. Weight multiply / bias add are separate (mul_row/add_row)
// because llama.cpp's graph names them separately (norm-0 then attn_norm-0).
// Per-head RMSNorm (q_norm/k_norm): n = head_dim, n_rows = n_tokens * n_head.

// ggml_rms_norm: y = x / sqrt(mean(x^2) + eps).
void rms_norm(const float* x, float* y, int64_t n_rows, int64_t n, float eps);
// ggml_norm: y = (x - mean) / sqrt(var + eps).
void layer_norm(const float* x, float* y, int64_t n_rows, int64_t n, float eps);

// ------------------------------------------------------------ activations --

float silu(float x);                                                   // x / (1 + e^-x)
void silu(const float* x, float* y, int64_t n);
// ggml's GELU (tanh approximation via the F16 table: x rounded to F16, the
// result is an F16 value; |x| >= 10 handled as ggml does).
float gelu(float x);
void gelu(const float* x, float* y, int64_t n);
// The exact tanh formula without the table (for reference tests).
float gelu_tanh_f32(float x);
// ggml_swiglu_split: y = silu(gate) * up.  ggml_geglu_split: y = gelu(gate) * up.
void swiglu(const float* gate, const float* up, float* y, int64_t n);
void geglu(const float* gate, const float* up, float* y, int64_t n);

// ------------------------------------------------------------------- rope --

struct RopeParams {
  int64_t n_dims = 0;          // rotated dims per head (<= head_dim; rest copied)
  bool neox = false;           // false: pairs (2i, 2i+1); true: pairs (i, i + n_dims/2)
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;     // 1 / linear scaling factor
  const float* freq_factors = nullptr;  // rope_freqs (llama3), n_dims/2 values, optional
  // YaRN (off when ext_factor == 0).
  float ext_factor = 0.0f, attn_factor = 1.0f, beta_fast = 32.0f, beta_slow = 1.0f;
  int64_t n_ctx_orig = 0;
};

// In place on x [n_tokens, n_head, head_dim]; pos[t] is token t's position.
void rope(float* x, int64_t n_tokens, int64_t n_head, int64_t head_dim, const int32_t* pos,
          const RopeParams& p);

// ------------------------------------------------------- masks, softmax --

struct MaskParams {
  bool causal = true;          // false: bidirectional within a sequence
  enum class Swa { none, standard, symmetric } swa = Swa::none;
  // standard (llama.cpp LLAMA_SWA_TYPE_STANDARD): kv cell p0 is hidden from
  //   token p1 when p1 - p0 >= window;
  // symmetric (EmbeddingGemma): visible iff |p1 - p0| <= window / 2.
  int32_t window = 0;
};

// mask[t * n_kv + j] = 0 where token t (position tok_pos[t], sequence
// tok_seq[t]) may attend kv cell j (cell_pos[j], cell_seq[j]; -1 = empty),
// -INFINITY elsewhere. Only cells of the same sequence are visible, so several
// sequences can share one batch. Cells j >= cell_pos.size() are masked.
void build_mask(std::span<const int32_t> cell_pos, std::span<const int32_t> cell_seq,
                std::span<const int32_t> tok_pos, std::span<const int32_t> tok_seq,
                int64_t n_kv, const MaskParams& p, float* mask);

// ggml_soft_max_ext on one row: x = softmax(x * scale + mask) (mask may be
// null). A fully masked row becomes all zeros.
void soft_max(float* x, int64_t n, const float* mask, float scale);

// -------------------------------------------------------------- attention --

// K and V of the cells attended to: cell j's K row starts at k + j * k_stride
// (elements), head g at + g * head_dim; same for V. type is F16 or F32.
struct KvView {
  TypeId type = TypeId::F16;
  const void* k = nullptr;
  const void* v = nullptr;
  int64_t n_kv = 0;
  int64_t k_stride = 0, v_stride = 0;
};

struct AttnParams {
  int64_t n_head = 0, n_head_kv = 0, head_dim = 0;
  float scale = 1.0f;          // applied to K·Q inside the softmax (kq_scale)
  float softcap = 0.0f;        // gemma2-style tanh cap on K·Q when > 0
  // llama.cpp's flash-attention numerics (ggml_flash_attn_ext, one row at a
  // time): online softmax, V·P accumulated in F16 for an F16 cache. No
  // AttnDebug output on this path (ggml has no kq node then).
  bool flash = false;
};

// Optional copies of the intermediate tensors, for dumps: layout
// [n_head][n_tokens][n_kv] (ggml ne {n_kv, n_tokens, n_head}); null = skip.
struct AttnDebug {
  float* kq = nullptr;
  float* kq_soft_max = nullptr;
};

// out [n_tokens, n_head * head_dim] = softmax(K·Q * scale + mask) · V per head,
// q [n_tokens, n_head * head_dim], mask [n_tokens, n_kv]; GQA: head h reads
// kv head h / (n_head / n_head_kv). With an F16 KvView, Q is rounded to F16
// for K·Q and the probabilities to F16 for V·P (ggml without flash attention).
void attention(ThreadPool& pool, const float* q, int64_t n_tokens, const KvView& kv,
               const float* mask, const AttnParams& p, float* out, Scratch& scratch,
               const AttnDebug* debug = nullptr);

// [n_tokens][n_head][head_dim] -> [n_head][n_tokens][head_dim] (ggml's permuted
// kqv-N layout, for dumps).
void heads_first(const float* x, int64_t n_tokens, int64_t n_head, int64_t head_dim, float* y);

}  // namespace tessel::kernels
