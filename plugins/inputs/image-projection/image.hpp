#pragma once
// The "image" input adapter: an image file (or precomputed .npy pixels or
// projected rows) through the vision encoder + projector of an mmproj file
// (params["mmproj"]) into rows of the text model's width.
#include <filesystem>
#include <memory>
#include <vector>

#include "tessel/input.hpp"
#include "tessel/registry.hpp"
#include "tessel/vision.hpp"

namespace tessel::inputs {

std::unique_ptr<InputAdapter> make_image_adapter();

// 8-bit RGB pixels, row-major [ny][nx][3].
struct RgbImage {
  int nx = 0, ny = 0;
  std::vector<uint8_t> data;
};

// PNG/JPEG/... via stb_image. Throws a one-line tessel::Error naming the file.
RgbImage load_image(const std::filesystem::path& file);

// The size the file's header claims (what load_image checks before
// decoding); false when stb_image does not recognise the header. Throws
// tessel::Error for a PGM/PPM header stb_image cannot read safely.
bool probe_image(const std::filesystem::path& file, int* nx, int* ny);

// llama.cpp's preprocessing for the Gemma 3 projector: bilinear,
// aspect-preserving resize to image_size with a black letterbox, then
// (u8/255 - mean)/std. Returns [3, image_size, image_size] (NCHW).
std::vector<float> preprocess_letterbox(const RgbImage& img, const VisionHParams& v);

// Loads an mmproj file through its architecture plugin (general.architecture
// = clip); the model keeps its file, codecs and plugin alive.
std::shared_ptr<VisionModel> load_projector(Registry& reg, const std::filesystem::path& mmproj,
                                            int threads = 0);

// Projected rows [n_rows, n_embd_out] for an image file or a .npy holding
// either pixels [1|-, 3, H, W] or rows [n_rows, n_embd_out].
std::vector<float> project_image(const VisionModel& vm, const std::filesystem::path& file,
                                 size_t* n_rows);

}  // namespace tessel::inputs
