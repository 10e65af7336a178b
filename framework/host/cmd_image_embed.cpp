// `tessel image-embed --mmproj MMPROJ.gguf --image IMG -o ROWS.npy`: the rows
// an image becomes after the vision encoder and projector (float32
// [n_rows, n_embd_text], llama.cpp's mtmd_get_output_embd), through the
// "image" input adapter. Feed them back with `tessel logits --embd ROWS.npy`.
#include <iostream>

#include "command.hpp"
#include "tessel/error.hpp"
#include "tessel/input.hpp"
#include "tessel/npy.hpp"
#include "tessel/pipeline.hpp"

namespace {

struct Options {
  std::string mmproj, image, out;
  int threads = 0;
  std::vector<std::string> plugin_paths;
};

tessel::host::Command image_embed_cmd{
    "image-embed", "Project an image through an mmproj file into embedding rows (.npy)",
    [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("--mmproj", o->mmproj, "Multimodal projector GGUF (clip)")->required();
      app.add_option("--image", o->image, "Image file (PNG/JPEG...) or preprocessed pixels .npy")
          ->required();
      app.add_option("-o,--output", o->out, "Output .npy [n_rows, n_embd]")->required();
      app.add_option("-t,--threads", o->threads, "Threads (0: all cores)");
      app.add_option("--plugin-path", o->plugin_paths, "Extra folder to search for plugins");
      return [o]() {
        std::vector<std::filesystem::path> extra(o->plugin_paths.begin(), o->plugin_paths.end());
        auto reg = tessel::make_registry(extra);
        auto adapter = reg->create<tessel::InputAdapter>("input", "image");
        tessel::InputSegment seg;
        seg.adapter = "image";
        seg.file = o->image;
        seg.params["mmproj"] = o->mmproj;
        seg.params["markers"] = "false";
        seg.params["threads"] = std::to_string(o->threads);
        tessel::AdapterContext ctx;
        ctx.registry = reg.get();
        for (const tessel::BatchChunk& c : adapter->adapt(seg, ctx)) {
          if (c.embd.empty()) continue;
          const int64_t width = int64_t(c.embd.size() / c.n_rows);
          tessel::write_npy(o->out, c.embd.data(), {int64_t(c.n_rows), width});
          std::cerr << "image-embed: " << c.n_rows << " rows x " << width << " -> " << o->out
                    << "\n";
          return 0;
        }
        throw tessel::Error(o->image + ": the projector produced no rows");
      };
    }};

}  // namespace
