// RoPE, masks, softmax and attention (ggml numerics, flash attention off).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tessel/error.hpp"
#include "tessel/half.hpp"
#include "tessel/kernels.hpp"

namespace tessel::kernels {

namespace {

// ggml's YaRN correction range: the dims whose wavelength crosses n_ctx_orig.
float yarn_corr_dim(int64_t n_dims, int64_t n_ctx_orig, float n_rot, float base) {
  return float(n_dims) * std::log(float(n_ctx_orig) / (n_rot * 2.0f * float(M_PI))) /
         (2.0f * std::log(base));
}

float yarn_ramp(float low, float high, int64_t i0) {
  const float y = (float(i0 / 2) - low) / std::max(0.001f, high - low);
  return 1.0f - std::min(1.0f, std::max(0.0f, y));
}

// cos/sin pairs for one position, theta advanced by repeated multiplication
// in float as ggml_rope_cache_init does.
void rope_cache(float pos, const RopeParams& p, float theta_scale, const float corr[2], float* cache) {
  float theta = pos;
  for (int64_t i0 = 0; i0 < p.n_dims; i0 += 2) {
    const float ff = p.freq_factors ? p.freq_factors[i0 / 2] : 1.0f;
    const float theta_extrap = theta / ff;
    const float theta_interp = p.freq_scale * theta_extrap;
    float t = theta_interp;
    float mscale = p.attn_factor;
    if (p.ext_factor != 0.0f) {
      const float mix = yarn_ramp(corr[0], corr[1], i0) * p.ext_factor;
      t = theta_interp * (1 - mix) + theta_extrap * mix;
      mscale *= 1.0f + 0.1f * std::log(1.0f / p.freq_scale);
    }
    cache[i0] = std::cos(t) * mscale;
    cache[i0 + 1] = std::sin(t) * mscale;
    theta *= theta_scale;
  }
}

// F16 -> F32 for every half value: attention converts a lot of them.
const float* f16_table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(65536);
    for (uint32_t i = 0; i < 65536; ++i) t[i] = fp16_to_fp32(uint16_t(i));
    return t;
  }();
  return table.data();
}

// ggml_flash_attn_ext's per-row loop: K·Q with Q in the cache type, running
// max M and sum S, and the V accumulator kept in F16 for an F16 cache (every
// rescale and multiply-add rounds to F16), divided by S at the end.
void flash_attention(ThreadPool& pool, const float* q, int64_t n_tokens, const KvView& kv,
                     const float* mask, const AttnParams& p, float* out) {
  const int64_t hd = p.head_dim, n_kv = kv.n_kv, group = p.n_head / p.n_head_kv;
  const bool f16 = kv.type == TypeId::F16;
  const float* h2f = f16_table();
  const float scale = p.softcap > 0.0f ? p.scale / p.softcap : p.scale;
  pool.parallel_for(p.n_head * n_tokens, [&](int64_t b, int64_t e) {
    thread_local std::vector<float> qf, acc;
    thread_local std::vector<uint16_t> acc16;
    qf.resize(size_t(hd));
    acc.resize(size_t(hd));
    acc16.resize(size_t(hd));
    for (int64_t task = b; task < e; ++task) {
      const int64_t h = task / n_tokens, t = task % n_tokens, g = h / group;
      const float* qr = q + (t * p.n_head + h) * hd;
      for (int64_t d = 0; d < hd; ++d) qf[d] = f16 ? h2f[fp32_to_fp16(qr[d])] : qr[d];
      std::fill(acc.begin(), acc.end(), 0.0f);
      std::fill(acc16.begin(), acc16.end(), uint16_t(0));
      float S = 0.0f, M = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < n_kv; ++j) {
        const float mv = mask ? mask[t * n_kv + j] : 0.0f;
        if (mv == -std::numeric_limits<float>::infinity()) continue;
        float s = 0.0f;
        if (f16) {
          const uint16_t* kr = static_cast<const uint16_t*>(kv.k) + j * kv.k_stride + g * hd;
          for (int64_t d = 0; d < hd; ++d) s += h2f[kr[d]] * qf[d];
        } else {
          const float* kr = static_cast<const float*>(kv.k) + j * kv.k_stride + g * hd;
          for (int64_t d = 0; d < hd; ++d) s += kr[d] * qf[d];
        }
        s *= scale;
        if (p.softcap > 0.0f) s = p.softcap * std::tanh(s);
        s += mv;
        float ms = 1.0f, vs = 1.0f;
        if (s > M) {
          ms = std::exp(M - s);
          M = s;
          if (f16) for (auto& a : acc16) a = fp32_to_fp16(h2f[a] * ms);
          else for (auto& a : acc) a *= ms;
        } else {
          vs = std::exp(s - M);
        }
        if (f16) {
          const uint16_t* vr = static_cast<const uint16_t*>(kv.v) + j * kv.v_stride + g * hd;
          for (int64_t d = 0; d < hd; ++d) acc16[d] = fp32_to_fp16(h2f[acc16[d]] + h2f[vr[d]] * vs);
        } else {
          const float* vr = static_cast<const float*>(kv.v) + j * kv.v_stride + g * hd;
          for (int64_t d = 0; d < hd; ++d) acc[d] += vr[d] * vs;
        }
        S = S * ms + vs;
      }
      if (f16) for (int64_t d = 0; d < hd; ++d) acc[d] = h2f[acc16[d]];
      const float inv = S == 0.0f ? 0.0f : 1.0f / S;
      float* o = out + (t * p.n_head + h) * hd;
      for (int64_t d = 0; d < hd; ++d) o[d] = acc[d] * inv;
    }
  });
}

}  // namespace

void rope(float* x, int64_t n_tokens, int64_t n_head, int64_t head_dim, const int32_t* pos,
          const RopeParams& p) {
  if (p.n_dims <= 0 || p.n_dims > head_dim || p.n_dims % 2 != 0)
    throw Error("rope: rotated dims " + std::to_string(p.n_dims) +
                " must be even and within the head size " + std::to_string(head_dim));
  const float theta_scale = std::pow(p.freq_base, -2.0f / float(p.n_dims));
  float corr[2] = {0.0f, float(p.n_dims - 1)};
  if (p.ext_factor != 0.0f && p.n_ctx_orig > 0) {
    const float start = std::floor(yarn_corr_dim(p.n_dims, p.n_ctx_orig, p.beta_fast, p.freq_base));
    const float end = std::ceil(yarn_corr_dim(p.n_dims, p.n_ctx_orig, p.beta_slow, p.freq_base));
    corr[0] = std::max(0.0f, start);
    corr[1] = std::min(float(p.n_dims - 1), end);
  }
  thread_local std::vector<float> cache;  // reused: no allocation per decode step
  cache.resize(size_t(p.n_dims));
  const int64_t half = p.n_dims / 2;
  for (int64_t t = 0; t < n_tokens; ++t) {
    rope_cache(float(pos[t]), p, theta_scale, corr, cache.data());
    for (int64_t h = 0; h < n_head; ++h) {
      float* v = x + (t * n_head + h) * head_dim;
      for (int64_t i0 = 0; i0 < p.n_dims; i0 += 2) {
        const float c = cache[i0], s = cache[i0 + 1];
        const int64_t a = p.neox ? i0 / 2 : i0;
        const int64_t b = p.neox ? i0 / 2 + half : i0 + 1;
        const float x0 = v[a], x1 = v[b];
        v[a] = x0 * c - x1 * s;
        v[b] = x0 * s + x1 * c;
      }
    }
  }
}

void build_mask(std::span<const int32_t> cell_pos, std::span<const int32_t> cell_seq,
                std::span<const int32_t> tok_pos, std::span<const int32_t> tok_seq,
                int64_t n_kv, const MaskParams& p, float* mask) {
  const float ninf = -std::numeric_limits<float>::infinity();
  const int64_t n_cells = int64_t(std::min(cell_pos.size(), cell_seq.size()));
  for (size_t t = 0; t < tok_pos.size(); ++t) {
    float* m = mask + t * size_t(n_kv);
    const int32_t p1 = tok_pos[t];
    for (int64_t j = 0; j < n_kv; ++j) {
      bool visible = j < n_cells && cell_pos[j] >= 0 && cell_seq[j] == tok_seq[t];
      if (visible) {
        const int32_t p0 = cell_pos[j];
        if (p.causal && p0 > p1) visible = false;
        if (p.swa == MaskParams::Swa::standard && p1 - p0 >= p.window) visible = false;
        if (p.swa == MaskParams::Swa::symmetric && std::abs(p1 - p0) > p.window / 2) visible = false;
      }
      m[j] = visible ? 0.0f : ninf;
    }
  }
}

void soft_max(float* x, int64_t n, const float* mask, float scale) {
  float max = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) {
    x[i] = x[i] * scale + (mask ? mask[i] : 0.0f);
    max = std::max(max, x[i]);
  }
  if (max == -std::numeric_limits<float>::infinity()) {
    std::fill(x, x + n, 0.0f);
    return;
  }
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += double(x[i]);
  }
  const float inv = float(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void attention(ThreadPool& pool, const float* q, int64_t n_tokens, const KvView& kv,
               const float* mask, const AttnParams& p, float* out, Scratch& scratch,
               const AttnDebug* debug) {
  (void)scratch;
  const int64_t hd = p.head_dim, n_kv = kv.n_kv;
  if (p.n_head_kv <= 0 || p.n_head % p.n_head_kv != 0)
    throw Error("attention: " + std::to_string(p.n_head) + " heads can't share " +
                std::to_string(p.n_head_kv) + " KV heads");
  if (kv.type != TypeId::F16 && kv.type != TypeId::F32)
    throw Error("attention: KV type " + type_name(kv.type) + " is not supported (F16 or F32)");
  const bool f16 = kv.type == TypeId::F16;
  const int64_t group = p.n_head / p.n_head_kv;
  const float* h2f = f16_table();
  if (p.flash) {
    flash_attention(pool, q, n_tokens, kv, mask, p, out);
    return;
  }
  pool.parallel_for(p.n_head * n_tokens, [&](int64_t b, int64_t e) {
    // Per-thread rows, kept between calls so decode steps don't allocate.
    thread_local std::vector<float> s, acc, qf;
    thread_local std::vector<uint16_t> q16;
    s.resize(size_t(n_kv));
    acc.resize(size_t(hd));
    qf.resize(size_t(hd));
    q16.resize(size_t(hd));
    for (int64_t task = b; task < e; ++task) {
      const int64_t h = task / n_tokens, t = task % n_tokens, g = h / group;
      const float* qr = q + (t * p.n_head + h) * hd;
      // K·Q: ggml converts Q to the cache type before the F16 dot.
      if (f16) {
        for (int64_t d = 0; d < hd; ++d) qf[d] = h2f[fp32_to_fp16(qr[d])];
        const auto* K = static_cast<const uint16_t*>(kv.k);
        for (int64_t j = 0; j < n_kv; ++j) {
          const uint16_t* kr = K + j * kv.k_stride + g * hd;
          float sum = 0.0f;
          for (int64_t d = 0; d < hd; ++d) sum += h2f[kr[d]] * qf[d];
          s[j] = sum;
        }
      } else {
        const auto* K = static_cast<const float*>(kv.k);
        for (int64_t j = 0; j < n_kv; ++j) {
          const float* kr = K + j * kv.k_stride + g * hd;
          float sum = 0.0f;
          for (int64_t d = 0; d < hd; ++d) sum += kr[d] * qr[d];
          s[j] = sum;
        }
      }
      if (debug && debug->kq) std::copy(s.begin(), s.end(), debug->kq + (h * n_tokens + t) * n_kv);
      if (p.softcap > 0.0f)
        for (int64_t j = 0; j < n_kv; ++j) s[j] = std::tanh(s[j] / p.softcap) * p.softcap;
      soft_max(s.data(), n_kv, mask ? mask + t * n_kv : nullptr, p.scale);
      if (debug && debug->kq_soft_max)
        std::copy(s.begin(), s.end(), debug->kq_soft_max + (h * n_tokens + t) * n_kv);
      // V·P: the probabilities are rounded to F16 for an F16 cache.
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t j = 0; j < n_kv; ++j) {
        if (s[j] == 0.0f) continue;  // masked: adds exactly nothing
        if (f16) {
          const float pj = h2f[fp32_to_fp16(s[j])];
          const uint16_t* vr = static_cast<const uint16_t*>(kv.v) + j * kv.v_stride + g * hd;
          for (int64_t d = 0; d < hd; ++d) acc[d] += h2f[vr[d]] * pj;
        } else {
          const float pj = s[j];
          const float* vr = static_cast<const float*>(kv.v) + j * kv.v_stride + g * hd;
          for (int64_t d = 0; d < hd; ++d) acc[d] += vr[d] * pj;
        }
      }
      std::copy(acc.begin(), acc.end(), out + (t * p.n_head + h) * hd);
    }
  });
}

void heads_first(const float* x, int64_t n_tokens, int64_t n_head, int64_t head_dim, float* y) {
  for (int64_t t = 0; t < n_tokens; ++t)
    for (int64_t h = 0; h < n_head; ++h)
      std::copy(x + (t * n_head + h) * head_dim, x + (t * n_head + h + 1) * head_dim,
                y + (h * n_tokens + t) * head_dim);
}

}  // namespace tessel::kernels
