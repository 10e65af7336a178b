#include "support.hpp"

#include <optional>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace tessel::test {

fs::path source_dir() { return TESSEL_SOURCE_DIR; }
fs::path plugin_dir() { return TESSEL_PLUGIN_DIR; }

fs::path shared_dir() {
  const char* env = std::getenv("TESSEL_SHARED");
  fs::path dir = env && *env ? fs::path(env) : source_dir() / ".." / "shared";
  if (!fs::is_directory(dir / "models"))
    FAIL("shared test data not found at '" << dir.string()
                                           << "': set TESSEL_SHARED to the folder holding models/ and golden/");
  return fs::weakly_canonical(dir);
}

fs::path shared_path(const std::string& rel) {
  fs::path p = shared_dir() / rel;
  if (!fs::exists(p)) FAIL("shared test file missing: " << p.string() << " (TESSEL_SHARED)");
  return p;
}

fs::path temp_dir() {
  // Locked: tests run tessel from several threads at once (concurrency tests).
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  uint64_t id;
  {
    std::lock_guard lock(mu);
    id = rng();
  }
  fs::path d = fs::temp_directory_path() / ("tessel-test-" + std::to_string(getpid()) + "-" + std::to_string(id));
  fs::create_directories(d);
  return d;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary);
  out << s;
}

RunResult run_tessel(const std::vector<std::string>& args, int timeout_seconds,
                     const std::vector<std::string>& extra_env) {
  return run_tessel_input(args, std::nullopt, timeout_seconds, extra_env);
}

RunResult run_tessel_input(const std::vector<std::string>& args, const std::optional<std::string>& input,
                           int timeout_seconds, const std::vector<std::string>& extra_env) {
  return run_program(TESSEL_BIN, args, input, timeout_seconds, extra_env);
}

RunResult run_program(const fs::path& program, const std::vector<std::string>& args,
                      const std::optional<std::string>& input, int timeout_seconds,
                      const std::vector<std::string>& extra_env) {
  fs::path dir = temp_dir();
  fs::path out_path = dir / "stdout", err_path = dir / "stderr", in_path = dir / "stdin";
  if (input) write_text(in_path, *input);
  pid_t pid = fork();
  if (pid == 0) {
    int in = open(input ? in_path.c_str() : "/dev/null", O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(in, 0); dup2(out, 1); dup2(err, 2);
    for (const auto& e : extra_env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> argv;
    std::string bin = program.string();
    argv.push_back(bin.data());
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  RunResult r;
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  while (true) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      FAIL(program.filename().string() << " did not finish within " << timeout_seconds << " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  else r.exit_code = 128 + WTERMSIG(status);
  r.out = read_text(out_path);
  r.err = read_text(err_path);
  fs::remove_all(dir);
  return r;
}

double cosine(const float* a, const float* b, size_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < n; ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  if (aa == 0 || bb == 0) return aa == bb ? 1.0 : 0.0;
  return ab / std::sqrt(aa * bb);
}

float max_abs_diff(const float* a, const float* b, size_t n) {
  float m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

}  // namespace tessel::test
