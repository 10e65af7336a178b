// The "image" adapter. For the Gemma 3 projector the rows are wrapped as mtmd
// does: "<start_of_image>" and "<end_of_image>" as their own text parts
// (tokenized separately, without BOS/EOS) around the image rows, which the text
// model decodes non-causally. params:
//   mmproj  = path of the mmproj GGUF (required unless the .npy holds rows)
//   markers = false   leave out the <start_of_image>/<end_of_image> text
//   threads = N       threads for the vision encoder
#include "image.hpp"

#include <map>
#include <mutex>
#include <string>

#include "tessel/error.hpp"
#include "tessel/npy.hpp"
#include "tessel/pipeline.hpp"

namespace tessel::inputs {
namespace {

std::string param(const InputSegment& seg, const std::string& key, const std::string& def = {}) {
  auto it = seg.params.find(key);
  return it == seg.params.end() ? def : it->second;
}

bool is_npy(const std::filesystem::path& p) {
  std::string e = p.extension().string();
  for (char& c : e) c = char(std::tolower(static_cast<unsigned char>(c)));
  return e == ".npy";
}

class ImageAdapter : public InputAdapter {
 public:
  std::vector<BatchChunk> adapt(const InputSegment& seg, const AdapterContext& ctx) const override {
    check_params(seg, {"mmproj", "markers", "threads"});
    const std::string mmproj = param(seg, "mmproj");
    if (mmproj.empty())
      throw Error(seg.file.string() + ": an image needs a multimodal projector (params mmproj, "
                  "--mmproj MMPROJ.gguf)");
    if (!ctx.registry) throw Error("image input: no plugin registry to load " + mmproj);
    int threads = ctx.threads;
    if (auto t = param(seg, "threads"); !t.empty()) {
      size_t used = 0;
      try {
        threads = std::stoi(t, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != t.size() || threads < 0)
        throw Error("image input: params threads is '" + t + "', expected a whole number >= 0");
    }
    std::shared_ptr<VisionModel> vm = projector(*ctx.registry, mmproj, threads);
    size_t n_rows = 0;
    std::vector<float> rows = project_image(*vm, seg.file, &n_rows);
    const int64_t width = vm->vision().n_embd_out;
    if (ctx.model && ctx.model->hparams().n_embd != width)
      throw Error(mmproj + ": the projector makes " + std::to_string(width) +
                  "-wide rows but the text model's n_embd is " +
                  std::to_string(ctx.model->hparams().n_embd));
    BatchChunk img;
    img.embd = std::move(rows);
    img.n_rows = n_rows;
    img.causal = !vm->decode_non_causal();
    std::vector<BatchChunk> out;
    const bool markers = param(seg, "markers", "true") != "false" &&
                         vm->vision().projector == "gemma3" && ctx.tokenizer;
    auto text = [&](const char* s) {
      EncodeOptions eo;
      eo.add_special = false;
      eo.parse_special = ctx.parse_special;
      BatchChunk c;
      c.tokens = ctx.tokenizer->encode(s, eo);
      out.push_back(std::move(c));
    };
    if (markers) text("<start_of_image>");
    out.push_back(std::move(img));
    if (markers) text("<end_of_image>");
    return out;
  }

 private:
  // One projector per mmproj path, loaded once (generate may see many images).
  std::shared_ptr<VisionModel> projector(Registry& reg, const std::string& path, int threads) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = cache_[path];
    if (!slot) slot = load_projector(reg, path, threads);
    return slot;
  }
  mutable std::mutex mu_;
  mutable std::map<std::string, std::shared_ptr<VisionModel>> cache_;
};

}  // namespace

std::shared_ptr<VisionModel> load_projector(Registry& reg, const std::filesystem::path& mmproj,
                                            int threads) {
  auto file = open_model_file(reg, mmproj);
  auto codecs = load_codecs(reg);
  RuntimeOptions opts;
  opts.threads = threads;
  std::shared_ptr<Model> m = load_model(reg, file, codecs, opts);
  auto vm = std::dynamic_pointer_cast<VisionModel>(m);
  if (!vm)
    throw Error(mmproj.string() + ": general.architecture '" +
                file->meta.get_string("general.architecture", "?") +
                "' is not a vision projector (expected an mmproj file, architecture clip)");
  return vm;
}

std::vector<float> project_image(const VisionModel& vm, const std::filesystem::path& file,
                                 size_t* n_rows) {
  const VisionHParams& v = vm.vision();
  if (!std::filesystem::exists(file)) throw Error(file.string() + ": no such image file");
  if (is_npy(file)) {
    NpyArray a = read_npy(file);
    std::vector<int64_t> s = a.shape;
    while (s.size() > 2 && s.front() == 1 && !(s.size() == 3 && s[0] == 3)) s.erase(s.begin());
    if (s.size() == 3 && s[0] == 3) {  // preprocessed pixels [3, H, W]
      std::vector<float> px = a.as_floats();
      std::vector<float> rows = vm.encode(px, s[2], s[1]);
      *n_rows = rows.size() / size_t(v.n_embd_out);
      return rows;
    }
    if (s.size() == 2 && s[1] == v.n_embd_out) {  // already projected rows
      if (s[0] == 0) throw Error(file.string() + ": holds no projected rows");
      *n_rows = size_t(s[0]);
      return a.as_floats();
    }
    std::string shape;
    for (int64_t d : a.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    throw Error(file.string() + ": shape [" + shape + "] is neither pixels [1, 3, " +
                std::to_string(v.image_size) + ", " + std::to_string(v.image_size) +
                "] nor projected rows [N, " + std::to_string(v.n_embd_out) + "]");
  }
  const RgbImage img = load_image(file);
  const std::vector<float> px = preprocess_letterbox(img, v);
  std::vector<float> rows = vm.encode(px, v.image_size, v.image_size);
  *n_rows = rows.size() / size_t(v.n_embd_out);
  return rows;
}

std::unique_ptr<InputAdapter> make_image_adapter() { return std::make_unique<ImageAdapter>(); }

}  // namespace tessel::inputs
