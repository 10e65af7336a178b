// Hyperparameters read under the file's general.architecture prefix, each
// range-checked so a bad file fails at load with one line naming the key
// (never later as a huge allocation, an overflow or NaN outputs).
#include <algorithm>
#include <cmath>
#include <limits>

#include "tessel/error.hpp"
#include "tessel/model_kit.hpp"
#include "tessel/vision.hpp"

namespace tessel::kit {

HParamReader::HParamReader(const ModelFile& f)
    : meta_(f.meta), path_(f.path.string()), arch_(f.meta.get_string("general.architecture")) {}

void HParamReader::fail(std::string_view k, const std::string& what) const {
  throw Error(path_ + ": " + key(k) + " " + what);
}

int64_t HParamReader::count(std::string_view k, int64_t lo, int64_t hi) const {
  const std::string full = key(k);
  const MetaValue* v = meta_.find(full);
  if (!v) throw Error(path_ + ": missing key " + full);
  if (!v->is_integer()) fail(k, "is " + v->to_string() + "; expected an integer");
  const bool huge = v->type == MetaType::U64 && v->u > uint64_t(std::numeric_limits<int64_t>::max());
  if (huge || v->i < lo || v->i > hi)
    fail(k, "= " + v->to_string() + " is out of range; expected " + std::to_string(lo) + ".." +
                std::to_string(hi));
  return v->i;
}

int64_t HParamReader::count(std::string_view k, int64_t def, int64_t lo, int64_t hi) const {
  return has(k) ? count(k, lo, hi) : def;
}

namespace {
double number(const HParamReader& r, std::string_view k, double def) {
  if (!r.has(k)) return def;
  const MetaValue& v = r.meta().get(r.key(k));
  if (!v.is_float() && !v.is_integer()) r.fail(k, "is " + v.to_string() + "; expected a number");
  return v.is_float() ? v.f : double(v.i);
}
}  // namespace

float HParamReader::positive(std::string_view k, double def) const {
  const double v = number(*this, k, def);
  if (!std::isfinite(v) || v <= 0.0 || !std::isfinite(float(v)) || float(v) <= 0.0f)
    fail(k, "= " + std::to_string(v) + "; expected a finite number > 0");
  return float(v);
}

float HParamReader::non_negative(std::string_view k, double def) const {
  const double v = number(*this, k, def);
  if (!std::isfinite(v) || v < 0.0 || !std::isfinite(float(v)))
    fail(k, "= " + std::to_string(v) + "; expected a finite number >= 0");
  return float(v);
}

std::string HParamReader::string(std::string_view k, const std::string& def) const {
  return meta_.get_string(key(k), def);
}

bool HParamReader::flag(std::string_view k, bool def) const { return meta_.get_bool(key(k), def); }

std::vector<float> HParamReader::floats(std::string_view k, size_t n, bool nonzero) const {
  if (!has(k)) throw Error(path_ + ": missing key " + key(k));
  const std::vector<float> v = meta_.get_floats(key(k));
  if (v.size() != n) fail(k, "has " + std::to_string(v.size()) + " values; expected " + std::to_string(n));
  for (float x : v)
    if (!std::isfinite(x) || (nonzero && x == 0.0f))
      fail(k, "holds " + std::to_string(x) + "; expected finite" + std::string(nonzero ? ", nonzero" : "") + " values");
  return v;
}

std::string HParamReader::pooling(std::string_view k) const {
  static const char* names[] = {"none", "mean", "cls", "last", "rank"};
  if (!has(k)) return "none";
  const MetaValue& v = meta_.get(key(k));
  if (v.is_integer() && v.i == -1) return "none";
  return names[count(k, 0, 4)];
}

void read_transformer(const HParamReader& r, HParams& hp, int64_t n_ctx_default) {
  hp.arch = r.arch();
  hp.n_embd = r.count("embedding_length", 1, int64_t(1) << 20);
  hp.n_layer = r.count("block_count", 1, 4096);
  hp.n_head = r.count("attention.head_count", 1, 16384);
  hp.n_head_kv = r.count("attention.head_count_kv", hp.n_head, 1, hp.n_head);
  if (hp.n_head % hp.n_head_kv != 0)
    r.fail("attention.head_count_kv", "= " + std::to_string(hp.n_head_kv) +
                                          " does not divide attention.head_count " +
                                          std::to_string(hp.n_head));
  hp.n_ff = r.count("feed_forward_length", 1, int64_t(1) << 22);
  hp.n_ctx_train = r.count("context_length", n_ctx_default, 1, int64_t(1) << 24);
  if (r.has("attention.key_length")) {
    hp.head_dim = r.count("attention.key_length", 1, 65536);
  } else {
    if (hp.n_embd % hp.n_head != 0)
      r.fail("attention.head_count", "= " + std::to_string(hp.n_head) +
                                         " does not divide embedding_length " +
                                         std::to_string(hp.n_embd) + " and there is no key_length");
    hp.head_dim = hp.n_embd / hp.n_head;
  }
  const int64_t v = r.count("attention.value_length", hp.head_dim, 1, 65536);
  if (v != hp.head_dim)
    r.fail("attention.value_length", "= " + std::to_string(v) + " differs from key_length " +
                                         std::to_string(hp.head_dim) + " (not supported)");
  hp.n_embd_out = hp.n_embd;
}

k::RopeParams read_rope(const HParamReader& r, int64_t head_dim, bool neox, double base) {
  k::RopeParams p;
  p.neox = neox;
  p.n_dims = r.count("rope.dimension_count", head_dim, 2, head_dim);
  if (p.n_dims % 2)
    r.fail("rope.dimension_count", "= " + std::to_string(p.n_dims) + "; expected an even number");
  p.freq_base = r.positive("rope.freq_base", base);
  const std::string type = r.string("rope.scaling.type", "none");
  if (type == "linear") {
    p.freq_scale = 1.0f / r.positive("rope.scaling.factor", 1.0);
  } else if (type != "none") {
    r.fail("rope.scaling.type", "= '" + type + "' is not supported (none, linear)");
  }
  return p;
}

std::vector<bool> read_swa(const HParamReader& r, int64_t n_layer, int64_t pattern,
                           k::MaskParams::Swa type, k::MaskParams& mask, int64_t window) {
  std::vector<bool> swa(size_t(n_layer), false);
  mask.window = int32_t(r.count("attention.sliding_window", window, 0, int64_t(1) << 24));
  mask.swa = type;
  if (mask.window == 0) return swa;
  const std::string key = r.key("attention.sliding_window_pattern");
  const MetaValue* v = r.meta().find(key);
  if (v && v->is_array()) {
    if (v->count != uint64_t(n_layer))
      r.fail("attention.sliding_window_pattern", "has " + std::to_string(v->count) +
                                                     " values; expected one per layer (" +
                                                     std::to_string(n_layer) + ")");
    for (int64_t il = 0; il < n_layer; ++il) swa[size_t(il)] = v->int_at(uint64_t(il)) != 0;
    return swa;
  }
  const int64_t n = r.count("attention.sliding_window_pattern", pattern, 0, 1 << 20);
  for (int64_t il = 0; il < n_layer; ++il) swa[size_t(il)] = n == 0 || il % n < n - 1;
  return swa;
}

float read_vision(const HParamReader& r, VisionHParams& v, HParams& vit, int64_t n_merge) {
  v.image_size = r.count("vision.image_size", 1, 1 << 14);
  v.patch_size = r.count("vision.patch_size", 1, v.image_size);
  v.n_embd = r.count("vision.embedding_length", 1, 1 << 16);
  v.n_ff = r.count("vision.feed_forward_length", 1, 1 << 20);
  v.n_layer = r.count("vision.block_count", 1, 1024);
  v.n_head = r.count("vision.attention.head_count", 1, v.n_embd);
  v.n_merge = r.count("vision.projector.scale_factor", n_merge, 1, v.image_size);
  if (r.has("vision.image_mean")) {
    const auto mean = r.floats("vision.image_mean", 3), sd = r.floats("vision.image_std", 3, true);
    std::copy_n(mean.begin(), 3, v.image_mean.begin());
    std::copy_n(sd.begin(), 3, v.image_std.begin());
  }
  if (v.image_size % v.patch_size || v.n_embd % v.n_head || (v.image_size / v.patch_size) % v.n_merge)
    r.fail("vision", "sizes are inconsistent (image " + std::to_string(v.image_size) + ", patch " +
                         std::to_string(v.patch_size) + ", heads " + std::to_string(v.n_head) +
                         ", scale factor " + std::to_string(v.n_merge) + ")");
  vit.arch = r.arch();
  vit.n_embd = v.n_embd, vit.n_layer = v.n_layer, vit.n_ff = v.n_ff;
  vit.n_head = vit.n_head_kv = v.n_head;
  vit.head_dim = v.n_embd / v.n_head;
  return r.positive("vision.attention.layer_norm_epsilon", 1e-6);
}

}  // namespace tessel::kit
