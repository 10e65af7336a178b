#pragma once
// Every plugin is a shared library exporting one Boost.DLL alias,
// `tessel_plugin`, that points to a descriptor. Host and plugins are built by
// one compiler, so C++ types cross the boundary; the api_version guards layout.
#include <cstdint>
#include <memory>

namespace tessel {

// Bump whenever any interface header changes in a way that breaks plugins.
// 2: Architecture::synth_presets/synth_recipe, Model::task_prompt,
//    Tokenizer plugins declare their vocab models (VocabModel).
inline constexpr uint32_t kApiVersion = 2;

// Base of every object a plugin factory makes.
class PluginObject {
 public:
  virtual ~PluginObject() = default;
};

struct PluginDescriptor {
  uint32_t api_version;
  const char* kind;      // "format" | "codec" | "tokenizer" | "input" | "architecture"
  const char* name;      // unique within the kind
  const char* version;   // the plugin's own version
  const char* summary;   // one line for `tessel plugins`
  // Metadata values this plugin serves when a choice is `auto`, comma separated:
  // general.architecture for architectures, tokenizer.ggml.model for
  // tokenizers, a file extension for formats. May be empty.
  const char* handles;
  std::unique_ptr<PluginObject> (*factory)();
};

}  // namespace tessel

#include <boost/dll/alias.hpp>

// Declares the plugin's descriptor. Use once per plugin library:
//   TESSEL_PLUGIN("codec", "ggml", "0.1.0", "ggml block codecs", "", make_codecs)
#define TESSEL_PLUGIN(KIND, NAME, VERSION, SUMMARY, HANDLES, FACTORY)                 \
  namespace {                                                                          \
  const ::tessel::PluginDescriptor tessel_plugin_descriptor_{                          \
      ::tessel::kApiVersion, KIND, NAME, VERSION, SUMMARY, HANDLES, FACTORY};          \
  }                                                                                    \
  extern "C" BOOST_SYMBOL_EXPORT const ::tessel::PluginDescriptor* tessel_plugin_get() { \
    return &tessel_plugin_descriptor_;                                                 \
  }                                                                                    \
  BOOST_DLL_ALIAS(tessel_plugin_get, tessel_plugin)
