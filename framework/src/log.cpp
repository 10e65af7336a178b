// The --verbose switch (tessel/log.hpp).
#include "tessel/log.hpp"

#include <atomic>
#include <cstdio>

namespace tessel {
namespace {
std::atomic<bool> g_verbose{false};
}

void set_verbose(bool on) { g_verbose = on; }
bool verbose() { return g_verbose; }

void verbose_log(const std::string& line) {
  if (g_verbose) std::fprintf(stderr, "tessel: %s\n", line.c_str());
}

}  // namespace tessel

#include "tessel/kernel_info.hpp"

namespace tessel {
KernelInfo::~KernelInfo() = default;
}  // namespace tessel
