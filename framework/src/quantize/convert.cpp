// Converting a whole model to a preset: the per-tensor policy from policy.cpp
// applied with the codec plugins' reference rounding. Shared by
// `tessel quantize` (from a file) and `tessel synth` (from memory).
#include <algorithm>

#include "tessel/error.hpp"
#include "tessel/quantize_convert.hpp"
#include "tessel/threadpool.hpp"

namespace tessel::quantize {

Converted convert_model(const ModelFile& file, const Preset& preset, const CodecSet& codecs, int threads,
                        bool allow_requantize, const std::function<void(size_t, size_t, const std::string&)>& progress,
                        const std::function<void(const std::string&)>& warn, const Overrides& overrides) {
  Converted out;
  std::vector<const TensorInfo*> ordered;
  for (size_t i : tensor_order(file.tensors)) ordered.push_back(&file.tensors[i]);
  const auto choices = choose_types(preset, model_info(file.meta), ordered, overrides);
  ThreadPool pool(threads);
  out.buffers.reserve(ordered.size());
  for (size_t k = 0; k < ordered.size(); ++k) {
    const TensorInfo& t = *ordered[k];
    const Choice& ch = choices[k];
    if (progress) progress(k, ordered.size(), t.name);
    if (!ch.warning.empty() && warn) warn(ch.warning);
    TensorToWrite w{t.name, ch.type, t.n_dims, t.ne, t.data};
    if (ch.quantize) {
      const bool from_quantized = type_traits(t.type)->block_elems > 1;
      if (from_quantized && !allow_requantize)
        throw Error("tensor " + t.name + " is already " + type_name(t.type) +
                    "; requantizing loses precision (pass --allow-requantize to do it anyway)");
      const Codec& src = codecs.get(t.type, t.name);
      const Codec& dst = codecs.get(ch.type, t.name);
      const int64_t ne0 = t.ne[0], rows = t.n_rows();
      const size_t dst_row = row_bytes(ch.type, ne0), src_row = t.row_size();
      auto& buf = out.buffers.emplace_back(size_t(rows) * dst_row);
      pool.parallel_for(rows, [&](int64_t r0, int64_t r1) {
        std::vector<float> tmp(static_cast<size_t>(ne0));
        for (int64_t r = r0; r < r1; ++r) {
          const float* x = reinterpret_cast<const float*>(t.row(r));
          if (t.type != TypeId::F32) {
            src.to_float(t.data.data() + size_t(r) * src_row, tmp.data(), size_t(ne0));
            x = tmp.data();
          }
          dst.from_float(x, buf.data() + size_t(r) * dst_row, size_t(ne0));
        }
      });
      w.data = buf;
    }
    out.bytes_in += t.data.size();
    out.bytes_out += w.data.size();
    out.tensors.push_back(w);
  }
  // llama-quantize copies every key, then re-sets these two (which moves them last).
  out.meta = file.meta;
  for (const char* k : {"split.no", "split.count", "split.tensors.count", "general.quantization_version",
                        "general.file_type"})
    out.meta.erase(k);
  out.meta.set("general.quantization_version", MetaValue::of_u32(kQuantizationVersion));
  out.meta.set("general.file_type", MetaValue::of_u32(preset.ftype));
  return out;
}

}  // namespace tessel::quantize
