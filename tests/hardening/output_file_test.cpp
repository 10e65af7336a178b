// OutputFile: regular files by temp + rename, devices and pipes streamed (a
// write error reported), symlinks followed to their target's folder, folders
// and this run's inputs refused.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include "support.hpp"
#include "tessel/error.hpp"
#include "tessel/output_file.hpp"

namespace fs = std::filesystem;
using Catch::Contains;
using tessel::test::read_text;
using tessel::test::temp_dir;
using tessel::test::write_text;

namespace {

size_t entries(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

// A character device like /dev/full made in `dir` when we may (root), else the
// real /dev/full (which a non-root process could not replace anyway).
fs::path full_device(const fs::path& dir) {
  fs::path dev = dir / "full";
  if (::mknod(dev.c_str(), S_IFCHR | 0666, makedev(1, 7)) == 0) return dev;
  return "/dev/full";
}

}  // namespace

TEST_CASE("a regular file is replaced whole, keeping its mode, with no temp file left") {
  fs::path dir = temp_dir();
  fs::path out = dir / "out.txt";
  write_text(out, "old");
  fs::permissions(out, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  tessel::write_file_atomic(out, "new contents");
  CHECK(read_text(out) == "new contents");
  CHECK(fs::status(out).permissions() == (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));
  CHECK(entries(dir) == 1);
}

TEST_CASE("an output that is not committed leaves nothing behind and the old file intact") {
  fs::path dir = temp_dir();
  fs::path out = dir / "out.txt";
  write_text(out, "old");
  {
    tessel::OutputFile f(out);
    f.write("half");
  }
  CHECK(read_text(out) == "old");
  CHECK(entries(dir) == 1);
}

TEST_CASE("a symlink stays a link: its target is replaced, in the target's folder") {
  fs::path dir = temp_dir();
  fs::create_directories(dir / "real");
  fs::create_directories(dir / "links");
  write_text(dir / "real" / "data.txt", "old");
  fs::create_symlink("../real/data.txt", dir / "links" / "data.txt");
  tessel::write_file_atomic(dir / "links" / "data.txt", "new");
  CHECK(fs::is_symlink(dir / "links" / "data.txt"));
  CHECK(read_text(dir / "real" / "data.txt") == "new");
  CHECK(entries(dir / "real") == 1);
  CHECK(entries(dir / "links") == 1);
  // A dangling link gets its target created.
  fs::create_symlink("../real/new.txt", dir / "links" / "new.txt");
  tessel::write_file_atomic(dir / "links" / "new.txt", "made");
  CHECK(fs::is_symlink(dir / "links" / "new.txt"));
  CHECK(read_text(dir / "real" / "new.txt") == "made");
}

TEST_CASE("a device is streamed to, never replaced, and a write error is reported") {
  fs::path dir = temp_dir();
  fs::path dev = full_device(dir);
  CHECK_THROWS_WITH(tessel::write_file_atomic(dev, std::string(1 << 21, 'x')),
                    Contains(dev.string()) && Contains("No space left"));
  CHECK(fs::is_character_file(dev));
  tessel::write_file_atomic("/dev/null", "discarded");
  CHECK(fs::is_character_file("/dev/null"));
}

TEST_CASE("a FIFO is streamed to") {
  fs::path dir = temp_dir();
  fs::path fifo = dir / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::string got;
  std::thread reader([&] { got = read_text(fifo); });
  tessel::write_file_atomic(fifo, "through the pipe");
  reader.join();
  CHECK(got == "through the pipe");
  CHECK(fs::is_fifo(fifo));
}

TEST_CASE("a folder or a missing folder is refused with a clear message") {
  fs::path dir = temp_dir();
  CHECK_THROWS_WITH(tessel::write_file_atomic(dir, "x"), Contains(dir.string()) && Contains("is a folder"));
  CHECK_THROWS_WITH(tessel::write_file_atomic(dir / "nope" / "x.txt", "x"), Contains("does not exist"));
}

TEST_CASE("an output that is the same file as an input is refused (by device and inode)") {
  fs::path dir = temp_dir();
  fs::path in = dir / "input.bin";
  write_text(in, "precious");
  tessel::note_input(in);
  CHECK_THROWS_WITH(tessel::write_file_atomic(in, "clobbered"),
                    Contains("same file as the input") && Contains(in.string()));
  // Through a hard link and a symlink too.
  fs::create_hard_link(in, dir / "hard.bin");
  fs::create_symlink(in, dir / "soft.bin");
  CHECK_THROWS_WITH(tessel::write_file_atomic(dir / "hard.bin", "x"), Contains("same file as the input"));
  CHECK_THROWS_WITH(tessel::write_file_atomic(dir / "soft.bin", "x"), Contains("same file as the input"));
  CHECK(read_text(in) == "precious");
  // Another file in the same folder is fine.
  tessel::write_file_atomic(dir / "other.bin", "ok");
  CHECK(read_text(dir / "other.bin") == "ok");
}

TEST_CASE("large writes pass through whole") {
  fs::path dir = temp_dir();
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = char(i * 7);
  tessel::OutputFile f(dir / "big.bin");
  f.write("head");
  f.write(big.data(), big.size());
  f.write("tail");
  f.commit();
  CHECK(read_text(dir / "big.bin") == "head" + big + "tail");
}
