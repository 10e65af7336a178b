#include "tessel/registry.hpp"

#include <boost/dll/import.hpp>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <dlfcn.h>

#include <algorithm>
#include <iostream>
#include <cstdlib>
#include <map>
#include <sstream>

#include "tessel/error.hpp"

namespace fs = std::filesystem;
namespace dll = boost::dll;

namespace tessel {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::stringstream ss(s);
  while (std::getline(ss, item, sep)) {
    auto b = item.find_first_not_of(' ');
    auto e = item.find_last_not_of(' ');
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

bool is_plugin_file(const fs::path& p) {
  std::string name = p.filename().string();
  return p.extension() == ".so" && (name.rfind("tessel-", 0) == 0 || name.rfind("libtessel-", 0) == 0);
}

}  // namespace

struct Registry::Impl {
  struct Loaded {
    PluginInfo info;
    std::shared_ptr<dll::shared_library> lib;
    const PluginDescriptor* desc = nullptr;
  };
  std::vector<fs::path> extra_paths;
  std::vector<Loaded> loaded;
  std::vector<PluginInfo> infos;
  std::map<fs::path, bool> seen_files;
};

Registry::Registry() : impl_(std::make_unique<Impl>()) {}
Registry::~Registry() = default;

std::vector<fs::path> Registry::default_search_paths() {
  std::vector<fs::path> paths;
  // Relative to libtessel itself, so the build tree and an installed tree each
  // find their own plugins and never each other's: build/lib/libtessel.so ->
  // build/plugins; <prefix>/lib/libtessel.so -> <prefix>/lib/tessel/plugins.
  std::error_code ec;
  fs::path self = fs::path(dll::this_line_location(ec).string());
  if (!ec) {
    fs::path libdir = self.parent_path();
    paths.push_back(libdir.parent_path() / "plugins");
    paths.push_back(libdir / "tessel" / "plugins");
  }
  // Next to the running binary: <prefix>/bin/tessel -> <prefix>/lib/tessel/plugins.
  fs::path exe = fs::path(dll::program_location(ec).string());
  if (!ec) paths.push_back(exe.parent_path().parent_path() / "lib" / "tessel" / "plugins");
  if (const char* env = std::getenv("TESSEL_PLUGIN_PATH"))
    for (const auto& p : split(env, ':')) paths.emplace_back(p);
  return paths;
}

void Registry::add_search_path(const fs::path& dir) { impl_->extra_paths.push_back(dir); }

void Registry::discover() {
  std::vector<fs::path> paths = default_search_paths();
  paths.insert(paths.end(), impl_->extra_paths.begin(), impl_->extra_paths.end());
  std::vector<fs::path> seen_dirs;
  for (const auto& dir : paths) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    fs::path canon = fs::weakly_canonical(dir, ec);
    if (std::find(seen_dirs.begin(), seen_dirs.end(), canon) != seen_dirs.end()) continue;
    seen_dirs.push_back(canon);
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.is_regular_file() && is_plugin_file(entry.path())) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    // One broken file must not take every command down with it: say why it
    // was skipped and go on with the others.
    for (const auto& f : files) {
      try {
        load_file(f);
      } catch (const Error& e) {
        std::cerr << "tessel: warning: skipping plugin " << e.what() << "\n";
      }
    }
  }
}

void Registry::load_file(const fs::path& file) {
  std::error_code ec;
  fs::path canon = fs::weakly_canonical(file, ec);
  if (impl_->seen_files.count(canon)) return;
  impl_->seen_files[canon] = true;

  auto lib = std::make_shared<dll::shared_library>();
  boost::dll::fs::error_code lec;
  lib->load(boost::dll::fs::path(file.string()), dll::load_mode::rtld_lazy | dll::load_mode::rtld_local, lec);
  if (lec) {
    // Boost reports every dlopen failure as "Bad file descriptor"; the loader's
    // own reason (missing symbol, wrong ELF class, not a library...) is in dlerror().
    const char* why = dlerror();
    throw Error(file.string() + ": cannot load plugin library: " + (why ? std::string(why) : lec.message()));
  }
  if (!lib->has("tessel_plugin"))
    throw Error(file.string() + ": not a tessel plugin (no 'tessel_plugin' symbol)");
  using GetFn = const PluginDescriptor* (*)();
  GetFn get = lib->get_alias<const PluginDescriptor*()>("tessel_plugin");
  const PluginDescriptor* d = get ? get() : nullptr;
  if (!d) throw Error(file.string() + ": tessel_plugin returned no descriptor");
  if (d->api_version != kApiVersion)
    throw Error(file.string() + ": plugin api_version " + std::to_string(d->api_version) +
                " does not match this tessel's api_version " + std::to_string(kApiVersion) +
                " (rebuild the plugin against this tessel)");
  static const char* kinds[] = {"format", "codec", "tokenizer", "input", "architecture"};
  std::string kind = d->kind ? d->kind : "";
  if (std::find(std::begin(kinds), std::end(kinds), kind) == std::end(kinds))
    throw Error(file.string() + ": plugin kind '" + kind +
                "' is not one of format, codec, tokenizer, input, architecture");
  if (!d->name || !*d->name || !d->factory) throw Error(file.string() + ": plugin descriptor has no name or factory");
  for (const auto& other : impl_->loaded)
    if (other.info.kind == kind && other.info.name == d->name)
      throw Error("two " + kind + " plugins named '" + d->name + "': " + other.info.file.string() +
                  " and " + file.string());

  PluginInfo info;
  info.kind = kind;
  info.name = d->name;
  info.version = d->version ? d->version : "";
  info.summary = d->summary ? d->summary : "";
  info.handles = split(d->handles ? d->handles : "", ',');
  info.file = canon;
  impl_->loaded.push_back({info, lib, d});
  impl_->infos.push_back(info);
}

const std::vector<PluginInfo>& Registry::plugins() const { return impl_->infos; }

std::vector<PluginInfo> Registry::plugins_of(const std::string& kind) const {
  std::vector<PluginInfo> out;
  for (const auto& i : impl_->infos)
    if (i.kind == kind) out.push_back(i);
  return out;
}

const PluginInfo* Registry::find_handler(const std::string& kind, const std::string& value) const {
  for (const auto& i : impl_->infos)
    if (i.kind == kind && std::find(i.handles.begin(), i.handles.end(), value) != i.handles.end())
      return &i;
  return nullptr;
}

std::shared_ptr<PluginObject> Registry::create_object(const std::string& kind, const std::string& name) {
  for (const auto& l : impl_->loaded) {
    if (l.info.kind != kind || l.info.name != name) continue;
    std::unique_ptr<PluginObject> obj = l.desc->factory();
    if (!obj) throw Error(l.info.file.string() + ": plugin factory returned nothing");
    std::shared_ptr<dll::shared_library> keep = l.lib;
    // The deleter runs the plugin's destructor, then lets go of the library.
    return std::shared_ptr<PluginObject>(obj.release(), [keep](PluginObject* p) { delete p; });
  }
  std::string known;
  for (const auto& i : impl_->infos)
    if (i.kind == kind) known += (known.empty() ? "" : ", ") + i.name;
  throw Error("no " + kind + " plugin named '" + name + "' (available: " +
              (known.empty() ? "none" : known) + ")");
}

void Registry::throw_wrong_type(const std::string& kind, const std::string& name) {
  throw Error(kind + " plugin '" + name + "' made an object that is not a " + kind +
              " interface (built against another tessel?)");
}

}  // namespace tessel
