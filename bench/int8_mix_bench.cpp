// Throughput of the AVX2 int8 instruction mixes the packed prompt tiles are
// made of, in core cycles per instruction: how many of them one core retires
// per cycle bounds every Q8_0 / Q4_0 tile design (bench/README.md, "what is
// left"). Twelve independent register chains per loop, so latency never
// binds; the clock comes from a dependent add chain (one cycle per add).
//   int8-mix-bench            (x86-64 with AVX2 only)
#include <chrono>
#include <cstdio>

#if defined(__x86_64__)
namespace {
using Clock = std::chrono::steady_clock;
constexpr long kIters = 50'000'000;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// One instruction on ymm<i> with ymm15 as the second source.
#define OP2(op, i) #op " %%ymm15, %%ymm" #i ", %%ymm" #i "\n"
#define OP1(op, i) #op " $4, %%ymm" #i ", %%ymm" #i "\n"
#define CLOBBER "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm15"
#define LOOP(body)                                                        \
  [] {                                                                    \
    long n = kIters;                                                      \
    const auto t0 = Clock::now();                                         \
    asm volatile("vpxor %%ymm15, %%ymm15, %%ymm15\n1:\n" body "dec %0\njnz 1b\n" : "+r"(n) : : CLOBBER); \
    return seconds_since(t0) / (12.0 * kIters);                           \
  }()
// Twelve chains, instructions a, b, c, d in turn.
#define MIX4(a, b, c, d) LOOP(a(0) b(1) c(2) d(3) a(4) b(5) c(6) d(7) a(8) b(9) c(10) d(11))

#define MUB(i) OP2(vpmaddubsw, i)
#define MADD(i) OP2(vpmaddwd, i)
#define SIGN(i) OP2(vpsignb, i)
#define ADDW(i) OP2(vpaddw, i)
#define ADDD(i) OP2(vpaddd, i)
#define AND(i) OP2(vpand, i)
#define SRL(i) OP1(vpsrlw, i)
}  // namespace

int main() {
  long n = 4 * kIters;
  const auto t0 = Clock::now();
  asm volatile("vpxor %%ymm0, %%ymm0, %%ymm0\n1:\nvpaddd %%ymm0, %%ymm0, %%ymm0\ndec %0\njnz 1b\n" : "+r"(n) : : "xmm0");
  const double cycle = seconds_since(t0) / (4.0 * kIters);
  std::printf("clock %.2f GHz (dependent vpaddd chain)\n", 1e-9 / cycle);
  struct Row { const char* name; double s; int per_32_mac; };
  const Row rows[] = {
      {"vpmaddubsw", MIX4(MUB, MUB, MUB, MUB), 0},
      {"vpmaddwd", MIX4(MADD, MADD, MADD, MADD), 0},
      {"vpsignb", MIX4(SIGN, SIGN, SIGN, SIGN), 0},
      {"vpsrlw", MIX4(SRL, SRL, SRL, SRL), 0},
      {"vpaddw", MIX4(ADDW, ADDW, ADDW, ADDW), 0},
      {"Q8_0 tile: sign, maddubs, madd, add", MIX4(SIGN, MUB, MADD, ADDD), 4},
      {"nibble tile: maddubs x2, add x2", MIX4(MUB, MUB, ADDW, ADDW), 4},
      // int16 activations and sign-extended weights: no sign step, but two
      // 32-bit adds per 32 MACs that compete with madd for the same pipes
      {"int16 tile: madd, add, madd, add", MIX4(MADD, ADDD, MADD, ADDD), 4},
  };
  for (const Row& r : rows) {
    std::printf("%-40s %.3f cycles/instr", r.name, r.s / cycle);
    if (r.per_32_mac) std::printf("  %.2f cycles per 32 int8 MACs", r.s / cycle * r.per_32_mac);
    std::printf("\n");
  }
}
#else
int main() { std::puts("int8-mix-bench: x86-64 only"); }
#endif
