#include "tessel/output_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "tessel/error.hpp"

namespace fs = std::filesystem;

namespace tessel {
namespace {

struct NotedInput {
  dev_t dev;
  ino_t ino;
  std::string path;
};

std::mutex& inputs_mutex() {
  static std::mutex m;
  return m;
}
std::vector<NotedInput>& inputs() {
  static std::vector<NotedInput> v;
  return v;
}

// The last path in a chain of symlinks (which may not exist yet). Relative
// link texts are relative to the link's own folder.
fs::path resolve_links(const fs::path& path) {
  fs::path p = path;
  for (int hops = 0; hops < 40; ++hops) {
    std::error_code ec;
    if (!fs::is_symlink(fs::symlink_status(p, ec))) return p;
    fs::path link = fs::read_symlink(p, ec);
    if (ec) return p;
    p = link.is_absolute() ? link : p.parent_path() / link;
  }
  throw Error(path.string() + ": too many levels of symbolic links");
}

// /dev/stdout and friends are links into /proc whose targets ("pipe:[123]")
// are not paths: such outputs are always opened as given and streamed.
bool is_special_path(const fs::path& p) {
  const std::string s = p.lexically_normal().string();
  return s.rfind("/dev/", 0) == 0 || s.rfind("/proc/", 0) == 0;
}

}  // namespace

void note_input(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return;
  std::lock_guard lock(inputs_mutex());
  for (const NotedInput& in : inputs())
    if (in.dev == st.st_dev && in.ino == st.st_ino) return;
  inputs().push_back({st.st_dev, st.st_ino, path.string()});
}

void check_not_an_input(const fs::path& output) {
  struct stat st {};
  if (::stat(output.c_str(), &st) != 0) return;  // a new file cannot be an input
  if (!S_ISREG(st.st_mode)) return;               // devices and pipes are not replaced
  std::lock_guard lock(inputs_mutex());
  for (const NotedInput& in : inputs())
    if (in.dev == st.st_dev && in.ino == st.st_ino)
      throw Error(output.string() + ": is the same file as the input " + in.path +
                  "; writing it would destroy the input, give another output path");
}

OutputFile::OutputFile(const fs::path& path) : path_(path) {
  const std::string name = path.string();
  if (name.empty()) throw Error("output path is empty");
  check_not_an_input(path);
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode))
    throw Error(name + ": is a folder; give the output a file name");
  buffer_.reserve(1 << 20);
  if ((exists && !S_ISREG(st.st_mode)) || is_special_path(path)) {
    // Devices, FIFOs, sockets and /dev/stdout: write straight through.
    streaming_ = true;
    fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | (exists && S_ISREG(st.st_mode) ? O_TRUNC : 0));
    if (fd_ < 0) fail("cannot open for writing", errno);
    return;
  }
  target_ = resolve_links(path);
  static std::atomic<unsigned> counter{0};
  const fs::path dir = target_.parent_path().empty() ? fs::path(".") : target_.parent_path();
  tmp_ = dir / ("." + target_.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                std::to_string(counter++));
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    const int e = errno;
    tmp_.clear();
    if (e == ENOENT) throw Error(name + ": cannot create the file: folder " + dir.string() + " does not exist");
    fail("cannot create a temporary file in " + dir.string(), e);
  }
  // Replacing a file keeps its permissions (umask applies only to new files).
  if (exists) (void)::fchmod(fd_, st.st_mode & 07777);
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !tmp_.empty()) ::unlink(tmp_.c_str());
}

void OutputFile::fail(const std::string& what, int err) {
  throw Error(path_.string() + ": " + what + ": " + std::strerror(err));
}

void OutputFile::write_all(const char* p, size_t left) {
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write failed", errno);
    }
    p += n;
    left -= size_t(n);
  }
}

void OutputFile::flush_buffer() {
  write_all(buffer_.data(), buffer_.size());
  buffer_.clear();
}

void OutputFile::write(const void* data, size_t n) {
  if (fd_ < 0) throw Error(path_.string() + ": write after commit");
  const char* p = static_cast<const char*>(data);
  if (buffer_.size() + n > buffer_.capacity()) flush_buffer();
  if (n >= buffer_.capacity()) {
    write_all(p, n);  // large writes (tensors) skip the buffer
    return;
  }
  buffer_.insert(buffer_.end(), p, p + n);
}

void OutputFile::commit() {
  if (fd_ < 0) throw Error(path_.string() + ": committed twice");
  flush_buffer();
  if (!streaming_ && ::fsync(fd_) != 0) fail("write failed", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("write failed", errno);
  if (streaming_) {
    committed_ = true;
    return;
  }
  if (::rename(tmp_.c_str(), target_.c_str()) != 0) fail("cannot move the written file into place", errno);
  committed_ = true;
}

void write_file_atomic(const fs::path& path, std::string_view content) {
  OutputFile out(path);
  out.write(content);
  out.commit();
}

}  // namespace tessel
