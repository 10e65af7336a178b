#pragma once
// Runs `tessel serve --port 0` as a child process on loopback and talks to it
// with curl (the same requests a user would type). Every wait is bounded.
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace tessel::test {

class ServerProcess {
 public:
  // Starts `tessel serve ARGS --host 127.0.0.1 --port 0` (or `tessel run ...`
  // as given when ARGS starts with "run") and waits (up to 120 s) for
  // "serve: ready"; fails the test if it does not come.
  explicit ServerProcess(std::vector<std::string> args, bool wait_ready = true);
  ~ServerProcess();  // SIGKILL if still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path) const;
  pid_t pid() const { return pid_; }
  // Sends SIGTERM and waits up to `timeout_s` for the exit; returns the exit
  // code (-1 on timeout, after which the process is killed).
  int terminate(int timeout_s = 60);
  void kill_now();
  std::string log() const;  // everything written to stderr so far

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::filesystem::path log_path_;
};

struct HttpResult {
  int status = 0;
  std::string body;
};

// curl -X METHOD URL [--data-binary BODY] [-H HEADER]..., at most `timeout_s`.
HttpResult curl(const std::string& method, const std::string& url, const std::string& body = "",
                const std::vector<std::string>& headers = {}, int timeout_s = 120);
// POST with a JSON body.
HttpResult post_json(const std::string& url, const std::string& body,
                     const std::vector<std::string>& headers = {});

// The concatenated `content` (chat) or `text` (completion) of an SSE stream,
// and whether it ended with `data: [DONE]`.
struct StreamText {
  std::string text, finish_reason;
  bool done = false;
  int events = 0;
};
StreamText parse_sse(const std::string& body, bool chat);

}  // namespace tessel::test
