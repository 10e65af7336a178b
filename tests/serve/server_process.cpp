#include "server_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "support.hpp"

namespace tessel::test {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

ServerProcess::ServerProcess(std::vector<std::string> args, bool wait_ready) {
  log_path_ = temp_dir() / "serve.log";
  std::vector<std::string> argv = {TESSEL_BIN};
  if (!args.empty() && args[0] == "run") {  // a config: it must set serve.port=0 itself
    argv.insert(argv.end(), args.begin(), args.end());
  } else {
    argv.push_back("serve");
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--host", "127.0.0.1", "--port", "0"});
  }
  pid_ = fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    const int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> c;
    for (auto& a : argv) c.push_back(a.data());
    c.push_back(nullptr);
    execv(c[0], c.data());
    _exit(127);
  }
  const std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+))");
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  for (;;) {
    const std::string text = log();
    std::smatch m;
    if (port_ == 0 && std::regex_search(text, m, listening)) port_ = std::stoi(m[1]);
    if (port_ != 0 && (!wait_ready || text.find("serve: ready") != std::string::npos)) return;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL("tessel serve exited early: " << text);
    }
    if (std::chrono::steady_clock::now() > deadline) FAIL("tessel serve did not get ready in 120 s: " << text);
    std::this_thread::sleep_for(20ms);
  }
}

ServerProcess::~ServerProcess() { kill_now(); }

void ServerProcess::kill_now() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string ServerProcess::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

int ServerProcess::terminate(int timeout_s) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(20ms);
  }
  kill_now();
  return -1;
}

std::string ServerProcess::log() const { return fs::exists(log_path_) ? read_text(log_path_) : ""; }

HttpResult curl(const std::string& method, const std::string& url, const std::string& body,
                const std::vector<std::string>& headers, int timeout_s) {
  const fs::path dir = temp_dir();
  std::vector<std::string> argv = {"curl", "-sS", "-N", "-X", method, url, "-o", (dir / "body").string(),
                                   "-w", "%{http_code}", "--max-time", std::to_string(timeout_s)};
  if (!body.empty() || method == "POST") {
    write_text(dir / "request", body);
    argv.insert(argv.end(), {"--data-binary", "@" + (dir / "request").string()});
  }
  for (const auto& h : headers) argv.insert(argv.end(), {"-H", h});
  // Close-on-exec: a curl forked meanwhile by another thread must not inherit
  // this pipe's write end, or this read waits for that curl to exit too (a
  // 2000-token request held a /metrics poll until it ended, so the poll never
  // saw the slot busy: CI 12-05).
  int out[2];
  REQUIRE(pipe2(out, O_CLOEXEC) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    std::vector<char*> c;
    for (auto& a : argv) c.push_back(a.data());
    c.push_back(nullptr);
    execvp("curl", c.data());
    _exit(127);
  }
  close(out[1]);
  std::string code;
  char buf[256];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) code.append(buf, size_t(n));
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  HttpResult r;
  r.status = code.empty() ? 0 : std::atoi(code.c_str());
  if (fs::exists(dir / "body")) r.body = read_text(dir / "body");
  fs::remove_all(dir);
  return r;
}

HttpResult post_json(const std::string& url, const std::string& body, const std::vector<std::string>& headers) {
  auto h = headers;
  h.push_back("Content-Type: application/json");
  return curl("POST", url, body, h);
}

StreamText parse_sse(const std::string& body, bool chat) {
  StreamText s;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("data: ", 0) != 0) continue;
    const std::string data = line.substr(6);
    if (data == "[DONE]") {
      s.done = true;
      continue;
    }
    ++s.events;
    const auto j = nlohmann::json::parse(data);
    if (!j.contains("choices") || j["choices"].empty()) continue;
    const auto& c = j["choices"][0];
    if (chat) {
      if (c["delta"].contains("content")) s.text += c["delta"]["content"].get<std::string>();
    } else {
      s.text += c["text"].get<std::string>();
    }
    if (!c["finish_reason"].is_null()) s.finish_reason = c["finish_reason"].get<std::string>();
  }
  return s;
}

}  // namespace tessel::test
