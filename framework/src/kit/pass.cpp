// The layer pass: composites over the core kernels, masks, output rows and
// dumps named as llama.cpp's graph names them.
#include <algorithm>
#include <cmath>
#include <map>

#include "tessel/error.hpp"
#include "tessel/model_kit.hpp"

namespace tessel::kit {

namespace {
// ModelContext::buf slots the pass uses itself (Pass::buf adds 16).
enum Slot : size_t { X = 0, MASK, MASK_SWA, Q, K, V, QKV, ATTN, TMP, GATE, UP, KQ, KQ_SM, CUR, ENC_MASK };
}  // namespace

Pass::Pass(const HParams& h, const Batch& b, ModelContext& c, Outputs& o, std::span<const int64_t> cells,
           const k::MaskParams& swa)
    : hp(h), batch(b), ctx(c), out(o), n(int64_t(b.size())), m(n), x(c.buf(X, size_t(n * h.n_embd))),
      cells_(cells), swa_params_(swa) {
  for (int64_t i = 0; i < n; ++i)
    if (b.output[size_t(i)]) rows_.push_back(int32_t(i));
  out.rows = rows_;
  if (c.kv) {
    n_kv_ = c.kv->extent();
    // llama.cpp attends over the used cells padded to 256; dumps keep that shape.
    if (dumping()) n_kv_ = std::min(c.kv->n_ctx(), (n_kv_ + 255) / 256 * 256);
  }
}

void Pass::emit(const char* name, int il, const float* d, std::initializer_list<int64_t> ne) const {
  if (!out.sink) return;
  out.sink->on_tensor(il >= 0 ? std::string(name) + "-" + std::to_string(il) : std::string(name), d, ne);
}

// ------------------------------------------------------------------ norms --

void Pass::norm(bool rms, const float* in, float* y, const Norm& w, float eps, const char* name,
                int il, int64_t rows, int64_t width) const {
  if (rows < 0) rows = m;
  if (width < 0) width = hp.n_embd;
  if (rms) k::rms_norm(in, y, rows, width, eps);
  else k::layer_norm(in, y, rows, width, eps);
  emit("norm", il, y, {width, rows});
  k::mul_row(y, w.w.data(), rows, width);
  if (!w.b.empty()) {
    emit("norm_w", il, y, {width, rows});
    k::add_row(y, w.b.data(), rows, width);
  }
  if (name) emit(name, il, y, {width, rows});
}

void Pass::linear(const Linear& l, const float* in, float* y, int64_t rows) const {
  if (rows < 0) rows = m;
  k::matmul(ctx.pool, l.w, in, rows, y, ctx.scratch);
  if (!l.b.empty()) k::add_row(y, l.b.data(), rows, l.w.n_out);
}

void Pass::add(const float* a, const float* b, float* y) const { k::add(a, b, y, m * hp.n_embd); }

// -------------------------------------------------------------- attention --

const float* Pass::mask(bool swa) {
  float* mk = ctx.buf(swa ? MASK_SWA : MASK, size_t(n * n_kv_));
  if (!mask_built_[swa]) {
    k::MaskParams mp = swa ? swa_params_ : k::MaskParams{};
    mp.causal = batch.causal;
    k::build_mask(ctx.kv->cell_pos(), ctx.kv->cell_seq(), batch.pos, batch.seq, n_kv_, mp, mk);
    mask_built_[swa] = true;
  }
  return mk;
}

void Pass::self_attention(int il, const AttnWeights& w, const float* in, float* y, const Attn& a) {
  const int64_t E = hp.n_embd, H = hp.n_head, HK = hp.n_head_kv, D = hp.head_dim;
  const int64_t NQ = H * D, NK = HK * D;
  float* q = ctx.buf(Q, size_t(m * NQ));
  float* kb = ctx.buf(K, size_t(m * NK));
  float* vb = ctx.buf(V, size_t(m * NK));
  if (w.qkv.present()) {  // fused: each row holds Q, K, V
    float* t = ctx.buf(QKV, size_t(m * (NQ + 2 * NK)));
    linear(w.qkv, in, t);
    emit("wqkv", il, t, {NQ + 2 * NK, m});
    for (int64_t r = 0; r < m; ++r) {
      const float* row = t + r * (NQ + 2 * NK);
      std::copy_n(row, NQ, q + r * NQ);
      std::copy_n(row + NQ, NK, kb + r * NK);
      std::copy_n(row + NQ + NK, NK, vb + r * NK);
    }
  } else {
    // Q, V and K in one parallel region over one quantized input (one pool
    // barrier instead of three: decode runs this once per layer and token).
    const k::MatmulTarget qvk[] = {{&w.q.w, q}, {&w.v.w, vb}, {&w.k.w, kb}};
    k::matmul_many(ctx.pool, qvk, in, m, ctx.scratch);
    // Each projection is named after the matmul and again after its bias.
    auto project = [&](const Linear& l, float* dst, const char* name, int64_t width) {
      emit(name, il, dst, {width, m});
      if (!l.b.empty()) {
        k::add_row(dst, l.b.data(), m, width);
        emit(name, il, dst, {width, m});
      }
    };
    project(w.q, q, "Qcur", NQ);
    project(w.v, vb, "Vcur", NK);
    project(w.k, kb, "Kcur", NK);
  }
  // Per-head q/k RMSNorm, then RoPE.
  auto head_norm_rope = [&](float* t, const std::vector<float>& nw, int64_t heads, const char* normed,
                            const char* name) {
    if (!nw.empty()) {
      k::rms_norm(t, t, m * heads, D, a.norm_eps);
      emit("norm", il, t, {D, heads, m});
      k::mul_row(t, nw.data(), m * heads, D);
      emit(normed, il, t, {D, heads, m});
    }
    if (a.rope) {
      k::rope(t, m, heads, D, batch.pos.data(), *a.rope);
      emit(name, il, t, {D, heads, m});
    }
  };
  head_norm_rope(q, w.q_norm, H, "Qcur_normed", "Qcur");
  head_norm_rope(kb, w.k_norm, HK, "Kcur_normed", "Kcur");
  if (a.q_scale > 0.0f) k::scale(q, m * NQ, a.q_scale);

  float* attn = ctx.buf(ATTN, size_t(m * NQ));
  k::AttnParams ap{H, HK, D, a.kq_scale, a.softcap, false};
  if (ctx.kv) {
    ap.flash = ctx.flash;
    k::AttnDebug dbg;
    if (dumping() && !ctx.flash) {
      dbg.kq = ctx.buf(KQ, size_t(H * m * n_kv_));
      dbg.kq_soft_max = ctx.buf(KQ_SM, size_t(H * m * n_kv_));
    }
    ctx.kv->store(il, cells_.first(size_t(m)), kb, vb);
    k::attention(ctx.pool, q, m, ctx.kv->view(il, n_kv_), mask(a.swa), ap, attn, ctx.scratch,
                 dbg.kq ? &dbg : nullptr);
    if (dbg.kq) {
      emit("kq", il, dbg.kq, {n_kv_, m, H});
      emit("kq_soft_max", il, dbg.kq_soft_max, {n_kv_, m, H});
    }
  } else {
    k::MaskParams mp = a.swa ? swa_params_ : k::MaskParams{};
    sequence_attention(ctx.pool, batch, q, kb, vb, mp, ap, attn, ctx.scratch,
                       ctx.vec(ENC_MASK));
  }
  if (dumping()) {
    float* t = ctx.buf(TMP, size_t(m * NQ));
    k::heads_first(attn, m, H, D, t);
    emit("kqv", il, t, {D, m, H});
    emit("kqv_out", il, attn, {NQ, m});
  }
  linear(w.o, attn, y);
  emit("attn_out", il, y, {E, m});
}

void sequence_attention(ThreadPool& pool, const Batch& batch, const float* q, const float* k,
                        const float* v, const k::MaskParams& mp_in, const k::AttnParams& ap,
                        float* out, k::Scratch& scratch, std::vector<float>& mask_buf) {
  const int64_t n = int64_t(batch.size());
  const int64_t nq = ap.n_head * ap.head_dim, nk = ap.n_head_kv * ap.head_dim;
  k::MaskParams mp = mp_in;
  mp.causal = false;
  // Runs of one sequence; a sequence split over two runs needs the whole batch at once.
  std::vector<std::pair<int64_t, int64_t>> runs;
  std::map<int32_t, int> seen;
  bool contiguous = true;
  for (int64_t i = 0; i < n; ++i) {
    if (i == 0 || batch.seq[size_t(i)] != batch.seq[size_t(i - 1)]) {
      contiguous = contiguous && seen[batch.seq[size_t(i)]]++ == 0;
      runs.push_back({i, i});
    }
    runs.back().second = i + 1;
  }
  if (!contiguous) runs = {{0, n}};
  // A run of one sequence without a window sees all of itself: no mask (a
  // 4096-patch image would need a 64 MB one of zeros).
  const bool masked = !contiguous || mp.swa != k::MaskParams::Swa::none;
  for (const auto& [b, e] : runs) {
    const int64_t len = e - b;
    float* mask = nullptr;
    const std::span<const int32_t> pos(batch.pos.data() + b, size_t(len)),
        seq(batch.seq.data() + b, size_t(len));
    if (masked) {
      if (mask_buf.size() < size_t(len * len)) mask_buf.resize(size_t(len * len));
      mask = mask_buf.data();
      k::build_mask(pos, seq, pos, seq, len, mp, mask);
    }
    const k::KvView kv{TypeId::F32, k + b * nk, v + b * nk, len, nk, nk};
    k::attention(pool, q + b * nq, len, kv, mask, ap, out + b * nq, scratch);
  }
}

// -------------------------------------------------------------------- ffn --

void Pass::ffn(const Linear& gate, const Linear& up, const Linear& down, Act act, const float* in,
               float* y, int il, bool gated, const char* out_name) const {
  const int64_t F = down.w.n_in;
  float* g = ctx.buf(GATE, size_t(m * F));
  if (!gated) {
    linear(up, in, g);
    emit("ffn_up", il, g, {F, m});
    if (act == Act::gelu) k::gelu(g, g, m * F);
    else k::silu(g, g, m * F);
    emit(act == Act::gelu ? "ffn_gelu" : "ffn_silu", il, g, {F, m});
  } else if (gate.present()) {
    float* u = ctx.buf(UP, size_t(m * F));
    const k::MatmulTarget gate_up[] = {{&gate.w, g}, {&up.w, u}};  // one region, as Q/V/K
    k::matmul_many(ctx.pool, gate_up, in, m, ctx.scratch);
    if (!gate.b.empty()) k::add_row(g, gate.b.data(), m, F);
    if (!up.b.empty()) k::add_row(u, up.b.data(), m, F);
    emit("ffn_gate", il, g, {F, m});
    emit("ffn_up", il, u, {F, m});
    if (act == Act::gelu) k::geglu(g, u, g, m * F);
    else k::swiglu(g, u, g, m * F);
  } else {  // fused gate+up: each row of up's output is [gate | up]
    float* u = ctx.buf(UP, size_t(m * 2 * F));
    linear(up, in, u);
    emit("ffn_up", il, u, {2 * F, m});
    for (int64_t r = 0; r < m; ++r) {
      const float* row = u + r * 2 * F;
      if (act == Act::gelu) k::geglu(row, row + F, g + r * F, F);
      else k::swiglu(row, row + F, g + r * F, F);
    }
  }
  if (gated) emit(act == Act::gelu ? "ffn_geglu" : "ffn_swiglu", il, g, {F, m});
  linear(down, g, y);
  if (out_name) emit(out_name, il, y, {down.w.n_out, m});
}

// ----------------------------------------------------------------- output --

void Pass::select_rows(float* b, int64_t width) const {
  for (size_t i = 0; i < rows_.size(); ++i)
    if (int64_t(rows_[i]) != int64_t(i)) std::copy_n(b + rows_[i] * width, width, b + i * width);
}

void Pass::keep_outputs(int il, std::initializer_list<float*> bufs) {
  if (!last_layer(il) || int64_t(rows_.size()) == m) return;
  for (float* b : bufs) select_rows(b, hp.n_embd);
  m = int64_t(rows_.size());
}

void Pass::finish(const float* in, const Norm& out_norm, float eps, bool rms,
                  const k::Matrix* output, float final_softcap) {
  const int64_t E = hp.n_embd;
  out.hidden.clear();
  out.logits.clear();
  if (rows_.empty()) return;
  float* cur = ctx.buf(CUR, size_t(m * E));
  if (in != cur) std::copy_n(in, m * E, cur);
  if (m != int64_t(rows_.size())) {  // keep_outputs did not run: pick the rows now
    select_rows(cur, E);
    m = int64_t(rows_.size());
  }
  if (out_norm.present()) {
    if (rms) rms_norm(cur, cur, out_norm, eps, "result_norm", -1);
    else layer_norm(cur, cur, out_norm, eps, "result_norm", -1);
  }
  if (out.want_hidden || !output) out.hidden.assign(cur, cur + m * E);
  if (output && (out.want_logits || dumping())) {
    out.logits.resize(size_t(m * output->n_out));
    k::matmul(ctx.pool, *output, cur, m, out.logits.data(), ctx.scratch);
    if (final_softcap > 0.0f)
      for (float& v : out.logits) v = std::tanh(v / final_softcap) * final_softcap;
    emit("result_output", -1, out.logits.data(), {output->n_out, m});
  }
}

}  // namespace tessel::kit
