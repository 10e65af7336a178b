// Picks the SIMD dot table the CPU can run (see simd_dots.hpp). Built with
// the project's baseline flags: only the per-ISA files use wider
// instructions, and they are called only after the cpuid checks here.
#include "simd_dots.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace tessel::ggml {
namespace {

#if defined(__x86_64__) || defined(__i386__)
// F16C is checked with cpuid: clang's __builtin_cpu_supports has no "f16c".
bool cpu_has_f16c() {
  unsigned eax, ebx, ecx, edx;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C);
}
// __builtin_cpu_supports also checks that the OS saves the AVX / AVX-512
// registers (XCR0), not only the cpuid bits.
bool cpu_runs_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
}
bool cpu_runs_vnni() {
  return cpu_runs_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}
#endif

std::vector<SimdDot> to_vector(SimdTable t) { return {t.dots, t.dots + t.count}; }

}  // namespace

std::vector<SimdDot> simd_dots(SimdIsa isa) {
#if defined(__x86_64__) || defined(__i386__)
  const bool vnni = cpu_runs_vnni(), avx2 = cpu_runs_avx2();
  switch (isa) {
    case SimdIsa::best:
      if (vnni) return to_vector(simd_dots_vnni_table());
      if (avx2) return to_vector(simd_dots_avx2_table());
      return {};
    case SimdIsa::vnni: return vnni ? to_vector(simd_dots_vnni_table()) : std::vector<SimdDot>{};
    case SimdIsa::avx2: return avx2 ? to_vector(simd_dots_avx2_table()) : std::vector<SimdDot>{};
  }
#endif
  (void)isa;
  return {};  // the scalar codecs
}

const char* simd_dots_name() {
#if defined(__x86_64__) || defined(__i386__)
  if (cpu_runs_vnni()) return "avx512-vnni";
  if (cpu_runs_avx2()) return "avx2";
#endif
  return "scalar";
}

}  // namespace tessel::ggml
