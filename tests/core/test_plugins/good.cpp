// A minimal format plugin the registry tests load.
#include "tessel/error.hpp"
#include "tessel/format.hpp"

namespace {
class TestFormat : public tessel::WeightFormat {
 public:
  bool can_open(const std::filesystem::path& p) const override { return p.extension() == ".testfmt"; }
  std::unique_ptr<tessel::ModelFile> open(const std::filesystem::path& p) const override {
    auto f = std::make_unique<tessel::ModelFile>();
    f->path = p;
    f->format = "testfmt";
    f->meta.set("general.architecture", tessel::MetaValue::of_string("test"));
    return f;
  }
};
std::unique_ptr<tessel::PluginObject> make() { return std::make_unique<TestFormat>(); }
}  // namespace

TESSEL_PLUGIN("format", TEST_PLUGIN_NAME, "1.2.3", "registry test format", "testfmt", make)
