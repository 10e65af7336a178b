// The --verbose switch (tessel/log.hpp).
#include "tessel/log.hpp"

#include <atomic>
#include <cstdio>

namespace tessel {
namespace {
std::atomic<bool> g_verbose{false};
std::atomic<bool> g_quiet{false};
}

void set_verbose(bool on) { g_verbose = on; }
bool verbose() { return g_verbose; }
void set_quiet(bool on) { g_quiet = on; }
bool quiet() { return g_quiet; }

void verbose_log(const std::string& line) {
  if (g_verbose) std::fprintf(stderr, "tessel: %s\n", line.c_str());
}

}  // namespace tessel

#include "tessel/kernel_info.hpp"

namespace tessel {
KernelInfo::~KernelInfo() = default;
}  // namespace tessel
