// A plugin built against a different api_version: the registry must refuse it.
#include "tessel/format.hpp"

namespace {
std::unique_ptr<tessel::PluginObject> make() { return nullptr; }
const tessel::PluginDescriptor desc{tessel::kApiVersion + 98, "format", "future", "9.9.9",
                                    "from the future", "", make};
const tessel::PluginDescriptor* get() { return &desc; }
}  // namespace

BOOST_DLL_ALIAS(get, tessel_plugin)
