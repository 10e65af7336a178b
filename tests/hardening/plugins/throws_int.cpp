// A format plugin whose factory throws something that is not a std::exception:
// the host must report it and exit, not abort.
#include "tessel/format.hpp"

namespace {
std::unique_ptr<tessel::PluginObject> make() { throw 42; }
}  // namespace

TESSEL_PLUGIN("format", "throws-int", "0.0.1", "hardening test: factory throws an int", "", make)
