#pragma once
// Helpers every test uses. Shared data (models, golden outputs) is found
// through TESSEL_SHARED, default <repo>/../shared; a test that needs it and
// can't find it FAILS with a message saying so — never skips silently.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tessel::test {

std::filesystem::path shared_dir();                           // fails the test if missing
std::filesystem::path shared_path(const std::string& rel);   // fails the test if missing
std::filesystem::path source_dir();                           // the repo root
std::filesystem::path plugin_dir();                           // the build's plugin folder
std::filesystem::path temp_dir();                             // fresh, per call

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};
// Runs the built `tessel` binary with `args` (no shell), stdin from /dev/null,
// with a time limit (kills it and fails the test when exceeded).
RunResult run_tessel(const std::vector<std::string>& args, int timeout_seconds = 120,
                     const std::vector<std::string>& extra_env = {});
// The same with `input` as stdin (/dev/null when nullopt).
RunResult run_tessel_input(const std::vector<std::string>& args, const std::optional<std::string>& input,
                           int timeout_seconds = 120, const std::vector<std::string>& extra_env = {});
// Any program the same way (the reference llama.cpp's tools, for instance).
RunResult run_program(const std::filesystem::path& program, const std::vector<std::string>& args,
                      const std::optional<std::string>& input = std::nullopt, int timeout_seconds = 120,
                      const std::vector<std::string>& extra_env = {});

std::string read_text(const std::filesystem::path& p);
void write_text(const std::filesystem::path& p, const std::string& s);

double cosine(const float* a, const float* b, size_t n);
float max_abs_diff(const float* a, const float* b, size_t n);

}  // namespace tessel::test
