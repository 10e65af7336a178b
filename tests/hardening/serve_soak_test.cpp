// A bounded soak of `tessel serve` on loopback: 64 concurrent connections
// mixing valid requests, malformed ones, slow ones (a byte at a time) and
// connections closed abruptly at every stage. The server must stay up, its
// memory must stay bounded (RSS from /proc), and every valid request —
// including the slow ones — must get exactly the answer it gets alone.
// Raw sockets, because curl can't send a request a byte at a time or reset a
// connection halfway. Catch2 assertions are not thread-safe: client threads
// only record what they saw; the checks run afterwards.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "../serve/server_process.hpp"
#include "support.hpp"

using namespace tessel::test;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr int kConnections = 64;
constexpr int kRounds = 3;  // requests per connection slot, one after another

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// A TCP connection to 127.0.0.1:port with bounded waits; every failure is
// reported by return value (no exceptions, no Catch2 from threads).
class Conn {
 public:
  explicit Conn(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) close_now();
  }
  ~Conn() { close_now(); }
  bool ok() const { return fd_ >= 0; }
  bool send_all(const std::string& s) {
    for (size_t at = 0; at < s.size();) {
      const ssize_t n = ::send(fd_, s.data() + at, s.size() - at, MSG_NOSIGNAL);
      if (n <= 0) return false;
      at += size_t(n);
    }
    return true;
  }
  bool send_slowly(const std::string& s, std::chrono::milliseconds gap) {
    for (char c : s) {
      if (!send_all(std::string(1, c))) return false;
      std::this_thread::sleep_for(gap);
    }
    return true;
  }
  // Reads until the peer closes (or `limit` passes); the raw response.
  std::string read_all(std::chrono::seconds limit) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, size_t(n));
    }
    return out;
  }
  // An abortive close: the server sees a reset, not a FIN.
  void reset() {
    linger l{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close_now();
  }
  void close_now() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::string http_post(const std::string& path, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\n"
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Status code of a raw HTTP response, 0 when there is none.
int status_of(const std::string& raw) {
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || raw.size() < 12) return 0;
  return std::atoi(raw.c_str() + 9);
}

std::string body_of(const std::string& raw) {
  const size_t at = raw.find("\r\n\r\n");
  return at == std::string::npos ? "" : raw.substr(at + 4);
}

const std::string kPrompt = "Once upon a time";
std::string completion_body(int max_tokens, bool stream = false) {
  return json{{"prompt", kPrompt}, {"max_tokens", max_tokens}, {"temperature", 0}, {"stream", stream}}.dump();
}

// The completion text of a raw response, or "" when it isn't one.
std::string completion_text(const std::string& raw) {
  if (status_of(raw) != 200) return "";
  const json j = json::parse(body_of(raw), nullptr, false);
  if (j.is_discarded() || !j.contains("choices")) return "";
  return j["choices"][0]["text"].get<std::string>();
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

struct Tally {
  std::mutex m;
  std::vector<std::string> problems;  // anything a valid request got wrong
  int valid_ok = 0, slow_ok = 0, malformed = 0, abrupt = 0;
  std::vector<int> malformed_status;
  void problem(const std::string& s) {
    std::lock_guard lk(m);
    problems.push_back(s);
  }
};

// Requests that are not HTTP or not a valid body: a 4xx or a closed
// connection are both fine; a 2xx or 5xx is not.
const std::vector<std::string>& malformed_requests() {
  static const std::vector<std::string> all = {
      "GARBAGE\r\n\r\n",
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + std::string(64, '\xff'),
      http_post("/v1/completions", "{not json"),
      http_post("/v1/completions", R"({"prompt": 5, "max_tokens": "x"})"),
      http_post("/v1/chat/completions", R"({"messages": [{"role": 1}]})"),
      http_post("/v1/completions", R"({"prompt": "a", "temperature": -3})"),
      http_post("/v1/completions", R"({"prompt": [999999999]})"),
      "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999\r\nConnection: close\r\n\r\n{}",
      "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      "POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n",
  };
  return all;
}

void valid_client(int port, const std::string& expected, Tally& t, bool slowly) {
  Conn c(port);
  const std::string req = http_post("/v1/completions", completion_body(8));
  const auto t0 = std::chrono::steady_clock::now();
  const bool sent = c.ok() && (slowly ? c.send_slowly(req, 2ms) : c.send_all(req));
  const double send_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string raw = sent ? c.read_all(60s) : "";
  const std::string text = completion_text(raw);
  if (text != expected || text.empty()) {
    t.problem(std::string(slowly ? "slow" : "valid") + " request (sent in " + std::to_string(send_s) +
              " s) got: " + raw.substr(0, 300));
    return;
  }
  std::lock_guard lk(t.m);
  ++(slowly ? t.slow_ok : t.valid_ok);
}

void malformed_client(int port, int k, Tally& t) {
  Conn c(port);
  const auto& reqs = malformed_requests();
  const std::string& req = reqs[size_t(k) % reqs.size()];
  if (!c.ok() || !c.send_all(req)) return;  // the server may close first: fine
  const int status = status_of(c.read_all(30s));
  std::lock_guard lk(t.m);
  ++t.malformed;
  t.malformed_status.push_back(status);
}

// Gone at every stage: before sending, mid-headers, mid-body, after the
// request (before the answer), mid-stream.
void abrupt_client(int port, int k, Tally& t) {
  Conn c(port);
  if (!c.ok()) return;
  const std::string req = http_post("/v1/completions", completion_body(32));
  const std::string stream_req = http_post("/v1/completions", completion_body(64, true));
  switch (k % 5) {
    case 0: break;
    case 1: c.send_all(req.substr(0, 40)); break;
    case 2: c.send_all(req.substr(0, req.size() - 10)); break;
    case 3: c.send_all(req); break;
    case 4:  // a few events in
      c.send_all(stream_req);
      std::this_thread::sleep_for(30ms);
      break;
  }
  if (k % 2) c.reset();
  else c.close_now();
  std::lock_guard lk(t.m);
  ++t.abrupt;
}

void round_of_clients(int port, const std::string& expected, Tally& t, int round) {
  std::vector<std::thread> clients;
  for (int i = 0; i < kConnections; ++i) {
    const int k = round * kConnections + i;
    clients.emplace_back([=, &t] {
      switch (i % 4) {
        case 0: valid_client(port, expected, t, false); break;
        case 1: malformed_client(port, k / 4, t); break;
        case 2: valid_client(port, expected, t, true); break;
        case 3: abrupt_client(port, k / 4, t); break;
      }
    });
  }
  for (auto& th : clients) th.join();
}

bool alive(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == 0;
}

}  // namespace

TEST_CASE("serve soak: 64 connections of valid, malformed, slow and abruptly closed requests") {
  ServerProcess s({"-m", shared_path("models/stories260K.gguf").string(), "-np", "4", "-c", "1024", "-t", "1",
                   "--max-queue", "128", "--max-body", "65536"});
  // The answer a request gets alone is the one it must get under load.
  Conn first(s.port());
  REQUIRE(first.send_all(http_post("/v1/completions", completion_body(8))));
  const std::string expected = completion_text(first.read_all(60s));
  REQUIRE_FALSE(expected.empty());

  Tally t;
  round_of_clients(s.port(), expected, t, 0);  // warms up every thread and buffer
  const long rss_warm = rss_kib(s.pid());
  for (int round = 1; round < kRounds; ++round) round_of_clients(s.port(), expected, t, round);
  const long rss_end = rss_kib(s.pid());

  INFO("server log tail: " << s.log().substr(s.log().size() > 3000 ? s.log().size() - 3000 : 0));
  REQUIRE(alive(s.pid()));
  for (const auto& p : t.problems) FAIL_CHECK(p);
  CHECK(t.valid_ok == kRounds * kConnections / 4);
  CHECK(t.slow_ok == kRounds * kConnections / 4);
  CHECK(t.abrupt == kRounds * kConnections / 4);
  for (int status : t.malformed_status) {
    INFO("a malformed request was answered " << status);
    CHECK((status == 0 || (status >= 400 && status < 500)));
  }
  // Still serving, still right.
  Conn last(s.port());
  REQUIRE(last.send_all(http_post("/v1/completions", completion_body(8))));
  CHECK(completion_text(last.read_all(60s)) == expected);
  Conn health(s.port());
  REQUIRE(health.send_all("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  CHECK(status_of(health.read_all(30s)) == 200);

  // Bounded memory: the rounds after the warm-up add no more than a little
  // (a leak per request would add hundreds of requests' worth), and the
  // whole server stays small. ASan keeps freed memory in quarantine (up to
  // 256 MiB) and shadow pages, so its bounds are wider.
  INFO("RSS after warm-up " << rss_warm << " KiB, at the end " << rss_end << " KiB");
  REQUIRE(rss_warm > 0);
  CHECK(rss_end - rss_warm < (kSanitized ? 300 : 16) * 1024);
  CHECK(rss_end < (kSanitized ? 1536 : 128) * 1024);
  CHECK(s.terminate() == 0);
}

// Slow clients as the issue describes them: a byte a second. httplib's read
// timeout applies to each read, so such a client keeps a pool thread for as
// long as it keeps sending; the pool holds slots + queue + 8 threads, so 16
// of them leave room, and the server must answer them and everyone else.
TEST_CASE("serve soak: clients sending a byte a second are answered, and others are served meanwhile") {
  ServerProcess s({"-m", shared_path("models/stories260K.gguf").string(), "-np", "2", "-c", "512", "-t", "1",
                   "--max-queue", "32"});
  Conn first(s.port());
  REQUIRE(first.send_all(http_post("/v1/completions", completion_body(8))));
  const std::string expected = completion_text(first.read_all(60s));
  REQUIRE_FALSE(expected.empty());

  constexpr int kSlow = 16;
  const std::string slow_request = "GET /health HTTP/1.0\r\n\r\n";  // 24 bytes: 24 s
  std::atomic<int> slow_ok{0};
  std::vector<std::thread> slow;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kSlow; ++i)
    slow.emplace_back([&] {
      Conn c(s.port());
      if (c.ok() && c.send_slowly(slow_request, 1000ms) && status_of(c.read_all(30s)) == 200) ++slow_ok;
    });
  std::this_thread::sleep_for(3s);  // every slow client is mid-request now
  Tally t;
  for (int round = 0; round < 3; ++round) {
    std::vector<std::thread> fast;
    for (int i = 0; i < 8; ++i) fast.emplace_back([&] { valid_client(s.port(), expected, t, false); });
    for (auto& th : fast) th.join();
  }
  const double fast_done_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (auto& th : slow) th.join();
  const double slow_done_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  for (const auto& p : t.problems) FAIL_CHECK(p);
  CHECK(t.valid_ok == 24);
  CHECK(slow_ok == kSlow);
  INFO("fast requests done after " << fast_done_s << " s, slow ones after " << slow_done_s << " s");
  CHECK(fast_done_s < 20);  // served while the slow clients were still sending
  CHECK(slow_done_s >= 23);
  REQUIRE(alive(s.pid()));
  CHECK(s.terminate() == 0);
}
