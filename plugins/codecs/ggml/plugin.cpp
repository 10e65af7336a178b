// Plugin entry: the ggml codec family as one CodecProvider.
#include "ggml_codecs.hpp"
#include "simd_dots.hpp"
#include "tessel/kernel_info.hpp"

namespace {

class GgmlCodecs final : public tessel::CodecProvider, public tessel::KernelInfo {
 public:
  std::vector<const tessel::Codec*> codecs() const override { return tessel::ggml::all_codecs(); }
  std::string kernel_path(tessel::TypeId type) const override { return tessel::ggml::kernel_path_of(type); }
};

std::unique_ptr<tessel::PluginObject> make_codecs() { return std::make_unique<GgmlCodecs>(); }

}  // namespace

TESSEL_PLUGIN("codec", "ggml", "0.1.0",
              "ggml block codecs: F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1 Q2_K..Q6_K Q8_K", "",
              make_codecs)
