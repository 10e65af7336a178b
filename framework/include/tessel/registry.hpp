#pragma once
// Finds, loads and hands out plugins. Every object handed out keeps its
// shared library loaded (through the shared_ptr's deleter) for as long as it
// lives, so plugin code never runs after its library is unloaded.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tessel/plugin.hpp"

namespace tessel {

struct PluginInfo {
  std::string kind, name, version, summary;
  std::vector<std::string> handles;
  std::filesystem::path file;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Folders searched, in order: the plugin folder beside libtessel (build/plugins in
  // a build tree, <prefix>/lib/tessel/plugins when installed), the folder next to
  // the running binary (and ../lib/tessel/plugins), TESSEL_PLUGIN_PATH
  // (':'-separated), then whatever add_search_path() added.
  static std::vector<std::filesystem::path> default_search_paths();
  void add_search_path(const std::filesystem::path& dir);

  // Loads every tessel-*.so in the search paths. Throws tessel::Error for a
  // library that is not a tessel plugin, an api_version mismatch (naming both
  // numbers) or two plugins with the same kind and name (naming both files).
  void discover();
  // Loads one library explicitly (same checks).
  void load_file(const std::filesystem::path& file);

  const std::vector<PluginInfo>& plugins() const;
  std::vector<PluginInfo> plugins_of(const std::string& kind) const;
  // The plugin of `kind` whose `handles` lists `value`; nullptr if none.
  const PluginInfo* find_handler(const std::string& kind, const std::string& value) const;

  // Makes an object of plugin kind/name. Throws tessel::Error when no such
  // plugin exists (listing the ones of that kind that do) or when the object
  // is not of type T.
  template <class T>
  std::shared_ptr<T> create(const std::string& kind, const std::string& name) {
    std::shared_ptr<PluginObject> obj = create_object(kind, name);
    auto typed = std::dynamic_pointer_cast<T>(obj);
    if (!typed) throw_wrong_type(kind, name);
    return typed;
  }

 private:
  std::shared_ptr<PluginObject> create_object(const std::string& kind, const std::string& name);
  [[noreturn]] void throw_wrong_type(const std::string& kind, const std::string& name);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessel
