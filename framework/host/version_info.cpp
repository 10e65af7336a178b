// `tessel --version` (version_info.hpp). The commit and build type come from
// CMake (TESSEL_COMMIT, TESSEL_BUILD_TYPE); the SIMD paths from the codec
// plugins themselves (tessel/kernel_info.hpp), so they are the ones runs use.
#include "version_info.hpp"

#include <map>
#include <sstream>

#include "tessel/codec.hpp"
#include "tessel/kernel_info.hpp"
#include "tessel/pipeline.hpp"

#ifndef TESSEL_COMMIT
#define TESSEL_COMMIT "unknown"
#endif
#ifndef TESSEL_BUILD_TYPE
#define TESSEL_BUILD_TYPE "unknown"
#endif

namespace tessel::host {
namespace {

std::string compiler() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("GCC ") + __VERSION__;
#else
  return "unknown";
#endif
}

// "avx512-vnni: Q4_0 Q8_0 ...; scalar: ..." from whatever codec plugins load.
std::string simd_paths() {
  try {
    auto reg = make_registry();
    auto codecs = load_codecs(*reg);
    std::map<std::string, std::string> by_path;
    for (TypeId t : codecs->types()) {
      std::string& list = by_path[kernel_path_of(codecs->owners, t)];
      list += (list.empty() ? "" : " ") + type_name(t);
    }
    if (by_path.empty()) return "no codec plugins found";
    std::string out;
    for (const auto& [path, types] : by_path) out += "\n  " + path + ": " + types;
    return out;
  } catch (const std::exception& e) {
    return std::string("unknown (") + e.what() + ")";
  }
}

}  // namespace

std::string version_text() {
  std::ostringstream ss;
  ss << "tessel " << TESSEL_VERSION << "\n"
     << "commit: " << TESSEL_COMMIT << "\n"
     << "compiler: " << compiler() << " (" << TESSEL_BUILD_TYPE
#ifdef __AVX512F__
     << ", built with AVX-512"
#elif defined(__AVX2__)
     << ", built with AVX2"
#endif
     << ")\n"
     << "SIMD kernels on this CPU:" << simd_paths() << "\n";
  return ss.str();
}

}  // namespace tessel::host
