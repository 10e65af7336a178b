#pragma once
// Writing output files whole or not at all, without clobbering what a path
// points at, and never over one of this run's inputs.
//
//   - A regular file (or a new name) is written to a temporary file in the
//     folder of its final target (symlinks are followed, so the link stays a
//     link) and renamed into place on commit(); the old file's mode is kept.
//   - A device, FIFO or socket (/dev/stdout, /dev/null, a pipe) is streamed
//     to directly: renaming over it would replace the device node. A write
//     error (/dev/full) is reported, naming the path.
//   - A folder is refused with a message saying a file name is wanted.
//   - A path that is the same file (device + inode) as any input this process
//     has read (note_input) is refused before anything is written.
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace tessel {

// Records that this process reads `path`, so no output may replace it. The
// core calls it for models, npy files, configs and texts; plugins that read
// files of their own call it too. Missing files are ignored.
void note_input(const std::filesystem::path& path);
// Throws tessel::Error when `output` is the same file as a noted input.
void check_not_an_input(const std::filesystem::path& output);

class OutputFile {
 public:
  // Opens for writing (see above); throws tessel::Error naming the path.
  explicit OutputFile(const std::filesystem::path& path);
  ~OutputFile();  // without commit(): the temporary file is removed
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(const void* data, size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  // Flushes, syncs and moves the file into place. Throws on any failure.
  void commit();

  bool streaming() const { return streaming_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  void flush_buffer();
  void write_all(const char* p, size_t n);
  [[noreturn]] void fail(const std::string& what, int err);

  std::filesystem::path path_;    // as given, for messages
  std::filesystem::path target_;  // the regular file to replace (symlinks resolved)
  std::filesystem::path tmp_;     // empty when streaming
  int fd_ = -1;
  bool streaming_ = false;
  bool committed_ = false;
  std::vector<char> buffer_;
};

// Writes `content` to `path` through an OutputFile.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

}  // namespace tessel
