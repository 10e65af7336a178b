// Model load through every architecture plugin: the input is a GGUF file
// (seeds: the shared models, all architectures); whatever parses is loaded by
// the plugin its general.architecture names, and a model that loads runs one
// small forward pass (two tokens, or the vision encoder on a blank image).
// Everything must either work or throw tessel::Error.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "gguf.hpp"
#include "tessel/error.hpp"
#include "tessel/pipeline.hpp"
#include "tessel/vision.hpp"

namespace {

tessel::Registry& registry() {
  static std::shared_ptr<tessel::Registry> reg = tessel::make_registry();
  return *reg;
}

std::shared_ptr<tessel::CodecSet> codecs() {
  static std::shared_ptr<tessel::CodecSet> c = tessel::load_codecs(registry());
  return c;
}

void run(const std::shared_ptr<tessel::Model>& model) {
  const tessel::HParams& hp = model->hparams();
  if (auto vm = std::dynamic_pointer_cast<tessel::VisionModel>(model)) {
    const int64_t side = vm->vision().image_size;
    if (side <= 0 || side > 512) return;
    std::vector<float> px(size_t(3 * side * side), 0.25f);
    (void)vm->encode(px, side, side);
    return;
  }
  if (hp.n_vocab <= 0 || hp.n_embd <= 0 || hp.n_embd > 8192) return;
  tessel::RuntimeOptions opts;
  opts.threads = 1;
  opts.n_ctx = 16;
  opts.n_batch = 16;
  auto ctx = model->new_context(opts);
  tessel::Batch b;
  b.add_token(0, 0, 0, false);
  b.add_token(tessel::TokenId(hp.n_vocab - 1), 1, 0, true);
  tessel::Outputs out;
  out.want_logits = hp.has_logits;
  out.want_hidden = !hp.has_logits;
  model->forward(b, *ctx, out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    std::shared_ptr<tessel::ModelFile> file =
        tessel::gguf::parse({reinterpret_cast<const std::byte*>(data), size}, "fuzz.gguf");
    tessel::RuntimeOptions opts;
    opts.threads = 1;
    opts.n_ctx = 16;
    auto model = tessel::load_model(registry(), file, codecs(), opts);
    run(model);
  } catch (const tessel::Error&) {
  }
  return 0;
}
