#pragma once
// A vision encoder + multimodal projector (llama.cpp's "mmproj" files,
// general.architecture = clip). Its architecture plugin returns a Model that
// is also a VisionModel; the "image" input adapter preprocesses pixels with
// vision() and calls encode() to get rows for the text model.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tessel/architecture.hpp"

namespace tessel {

struct VisionHParams {
  std::string projector;            // clip.projector_type ("gemma3")
  int64_t image_size = 0, patch_size = 0;
  int64_t n_embd = 0, n_layer = 0, n_head = 0, n_ff = 0;
  int64_t n_merge = 1;              // projector pooling factor (clip.vision.projector.scale_factor)
  int64_t n_embd_out = 0;           // width of the projected rows (the text model's n_embd)
  std::array<float, 3> image_mean{0.5f, 0.5f, 0.5f}, image_std{0.5f, 0.5f, 0.5f};
  // Rows an image of image_size x image_size becomes.
  int64_t n_output_rows() const {
    const int64_t side = image_size / patch_size / n_merge;
    return side * side;
  }
};

class VisionModel : public Model {
 public:
  ~VisionModel() override;  // defined in libtessel: one typeinfo for dynamic_cast
  virtual const VisionHParams& vision() const = 0;
  // pixels: [3, ny, nx] preprocessed floats (llama.cpp's inp_raw, NCHW).
  // Returns rows [n_output_rows, n_embd_out]. Intermediates go to `sink`
  // under clip.cpp's graph names when it is set.
  virtual std::vector<float> encode(std::span<const float> pixels, int64_t nx, int64_t ny,
                                    TensorSink* sink = nullptr) const = 0;
  // mtmd_decode_use_non_causal: the text model attends to these rows both ways.
  virtual bool decode_non_causal() const = 0;
};

}  // namespace tessel
