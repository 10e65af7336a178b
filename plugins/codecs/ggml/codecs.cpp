#include <memory>

#include "ggml_codecs.hpp"
#include "packed.hpp"
#include "simd_dots.hpp"
#include "tessel/error.hpp"

namespace tessel::ggml {
namespace {

class KernelCodec final : public Codec {
 public:
  KernelCodec(const Kernels& k, const char* path) : k_(k), traits_(*type_traits(k.type)), path_(path) {}
  const char* kernel_path() const { return path_; }
  TypeId type() const override { return k_.type; }
  size_t block_elems() const override { return traits_.block_elems; }
  size_t block_bytes() const override { return traits_.block_bytes; }
  void to_float(const void* src, float* dst, size_t n) const override {
    check(n);
    k_.to_float(src, dst, n);
  }
  void from_float(const float* src, void* dst, size_t n) const override {
    check(n);
    k_.from_float(src, dst, n);
  }
  TypeId dot_type() const override { return k_.dot_type; }
  float dot(const void* w_row, const void* act_row, size_t n) const override {
    return k_.dot(w_row, act_row, n);  // hot loop: callers guarantee n
  }
  void dot_rows(const void* w_row, const void* act, size_t act_stride, size_t n_act, size_t n,
                float* out, size_t out_stride) const override {
    if (k_.dot_rows) return k_.dot_rows(w_row, act, act_stride, n_act, n, out, out_stride);
    Codec::dot_rows(w_row, act, act_stride, n_act, n, out, out_stride);
  }
  void dot_weights(const void* w, size_t w_stride, size_t n_w, const void* act, size_t n,
                   float* out) const override {
    if (k_.dot_weights) return k_.dot_weights(w, w_stride, n_w, act, n, out);
    Codec::dot_weights(w, w_stride, n_w, act, n, out);
  }

  std::unique_ptr<PackedMatrix> pack(const void* w, size_t n_out, size_t n_in,
                                     ThreadPool* pool) const override {
    return pack_matrix(k_.type, w, n_out, n_in, pool);
  }

 private:
  void check(size_t n) const {
    if (n % traits_.block_elems != 0)
      throw Error(std::string(traits_.name) + " codec: " + std::to_string(n) +
                  " elements is not a multiple of the block size " +
                  std::to_string(traits_.block_elems));
  }
  Kernels k_;
  TypeTraits traits_;
  const char* path_;
};

struct Table {
  std::vector<std::unique_ptr<KernelCodec>> owned;  // list[i] is owned[i]
  std::vector<const Codec*> list;
  Table() {
    std::vector<Kernels> ks;
    add_float_kernels(ks);
    add_legacy_kernels(ks);
    add_kquant_kernels(ks);
    // The SIMD dots replace the scalar reference ones where this build has them.
    std::vector<const char*> paths(ks.size(), "scalar");
    for (const SimdDot& s : simd_dots())
      for (size_t i = 0; i < ks.size(); ++i)
        if (ks[i].type == s.type) {
          ks[i].dot = s.dot;
          ks[i].dot_rows = s.dot_rows;
          ks[i].dot_weights = s.dot_weights;
          paths[i] = simd_dots_name();
        }
    for (size_t i = 0; i < ks.size(); ++i) {
      const Kernels& k = ks[i];
      owned.push_back(std::make_unique<KernelCodec>(k, paths[i]));
      list.push_back(owned.back().get());
    }
  }
};

const Table& table() {
  static const Table t;
  return t;
}

}  // namespace

const std::vector<const Codec*>& all_codecs() { return table().list; }

const char* kernel_path_of(TypeId t) {
  for (const auto& c : table().owned)
    if (c->type() == t) return c->kernel_path();
  return "";
}

const Codec* find_codec(TypeId t) {
  for (const Codec* c : all_codecs())
    if (c->type() == t) return c;
  return nullptr;
}

}  // namespace tessel::ggml
