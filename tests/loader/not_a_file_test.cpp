// Paths that name no object file (issue 11): a folder aborted with an uncaught ios failure and
// /dev/zero with std::bad_alloc. Both, and files too large to be an eBPF object, are refused
// before anything is read.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <bpfq/loader/load_object.hpp>

#include "support/error_of.hpp"

namespace bpfq::loader {
namespace {

using bpfq::test::error_of;

std::string temp_dir() {
  const std::string dir = ::testing::TempDir() + "bpfq-loader-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(LoaderPaths, AFolderIsNotAnObjectFile) {
  const std::string dir = temp_dir();
  const Error e = error_of([&] { load_object(dir); });
  EXPECT_EQ(e.where(), dir);
  EXPECT_EQ(e.reason(), "is a folder, not an object file");
  EXPECT_EQ(e.hint(), "name a .bpf.o file built by clang -target bpf");
}

TEST(LoaderPaths, DevicesAreRefusedBeforeReading) {
  for (const char* device : {"/dev/zero", "/dev/null", "/dev/urandom"}) {
    if (!std::filesystem::exists(device)) continue;
    const Error e = error_of([&] { load_object(device); });
    EXPECT_EQ(e.where(), device);
    EXPECT_EQ(e.reason(), "is not a regular file (a device, pipe or socket)");
  }
}

TEST(LoaderPaths, AFileAboveTheSizeLimitIsRefusedBeforeReading) {
  // A sparse file: its size costs no disk and, being refused unread, no memory.
  const std::string path = temp_dir() + "/huge.bpf.o";
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(kMaxObjectBytes) + 1), 0);
  ::close(fd);
  const Error e = error_of([&] { load_object(path); });
  EXPECT_EQ(e.where(), path);
  EXPECT_EQ(e.reason(), "the object has 268435457 bytes, over the limit of 268435456");
  // Below the limit the bytes are read and judged as ELF (all zeros: no magic).
  ASSERT_EQ(::truncate(path.c_str(), 4096), 0);
  EXPECT_EQ(error_of([&] { load_object(path); }).reason(), "not an ELF file (bad magic)");
  std::filesystem::remove(path);
}

TEST(LoaderPaths, AMissingFileStillSaysSo) {
  const Error e = error_of([] { load_object("/nonexistent/x.bpf.o"); });
  EXPECT_EQ(e.where(), "/nonexistent/x.bpf.o");
  EXPECT_EQ(e.reason(), "cannot open: No such file or directory");
}

}  // namespace
}  // namespace bpfq::loader
