// The smallest useful input adapter: every segment becomes the ids 1, 2, 3.
#include <tessel/input.hpp>

namespace {
class Hello : public tessel::InputAdapter {
 public:
  std::vector<tessel::BatchChunk> adapt(const tessel::InputSegment&, const tessel::AdapterContext&) const override {
    tessel::BatchChunk c;
    c.tokens = {1, 2, 3};
    c.n_rows = 3;
    return {c};
  }
};
std::unique_ptr<tessel::PluginObject> make() { return std::make_unique<Hello>(); }
}  // namespace

TESSEL_PLUGIN("input", "hello", "0.0.1", "out-of-tree example", "", make)
