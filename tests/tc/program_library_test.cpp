// Library programs found by name (`qdisc add dev eth0 root sfq` runs sfq.bpf.o): where bpfq
// looks, in which order, and which names it refuses.
#include <bpfq/tc/program_library.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace bpfq::tc {
namespace {

namespace fs = std::filesystem;

// Sets (or unsets) BPFQ_PROGS_PATH for one test and puts back what was there.
class ProgsPath {
 public:
  explicit ProgsPath(const std::optional<std::string>& value) {
    if (const char* old = getenv("BPFQ_PROGS_PATH")) old_ = old;
    if (value) setenv("BPFQ_PROGS_PATH", value->c_str(), 1);
    else unsetenv("BPFQ_PROGS_PATH");
  }
  ~ProgsPath() {
    if (old_) setenv("BPFQ_PROGS_PATH", old_->c_str(), 1);
    else unsetenv("BPFQ_PROGS_PATH");
  }

 private:
  std::optional<std::string> old_;
};

// A folder of this test process (ctest runs tests in parallel), removed afterwards.
class ProgramLibrary : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) /
            ("bpfq-tc-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // dir/NAME.bpf.o with any content: the search looks at names only.
  std::string put(const std::string& dir, const std::string& name) {
    fs::create_directories(root_ / dir);
    const fs::path path = root_ / dir / (name + ".bpf.o");
    std::ofstream(path) << "not an object";
    return path.string();
  }
  std::string dir(const std::string& d) const { return (root_ / d).string(); }

  fs::path root_;
};

const std::string kBuildProgs = std::string(BPFQ_BINARY_DIR) + "/progs";

TEST_F(ProgramLibrary, ProgsPathIsSearchedBeforeTheLibrary) {
  // fifo.bpf.o is also in the build tree; the folder named by the variable wins.
  const std::string mine = put("a", "fifo");
  ProgsPath env(dir("a"));
  EXPECT_EQ(find_library_program("fifo"), mine);
  EXPECT_EQ(find_library_program("x"), "");
  const std::string x = put("a", "x");
  EXPECT_EQ(find_library_program("x"), x);
}

TEST_F(ProgramLibrary, ProgsPathFoldersAreSearchedInOrder) {
  const std::string b_x = put("b", "x");
  ProgsPath env("::" + dir("a") + "::" + dir("b") + ":");
  const std::vector<std::string> dirs = program_library_dirs();
  ASSERT_GE(dirs.size(), 2u);
  EXPECT_EQ(dirs[0], dir("a"));  // empty entries are skipped
  EXPECT_EQ(dirs[1], dir("b"));
  EXPECT_EQ(find_library_program("x"), b_x);
  const std::string a_x = put("a", "x");
  EXPECT_EQ(find_library_program("x"), a_x);
}

TEST_F(ProgramLibrary, UnknownNameIsNotFound) {
  ProgsPath env(dir("a"));
  EXPECT_EQ(find_library_program("no_such_qdisc"), "");
  EXPECT_EQ(find_library_program(""), "");
}

TEST_F(ProgramLibrary, NameWithSlashIsRefused) {
  // A path is not a library name, even when the file it names exists under a searched folder.
  put("a/sub", "x");
  ProgsPath env(dir("a"));
  EXPECT_EQ(find_library_program("sub/x"), "");
  EXPECT_EQ(find_library_program("/fifo"), "");
  EXPECT_EQ(find_library_program("../progs/fifo"), "");
  EXPECT_EQ(find_library_program("fifo/"), "");
}

TEST_F(ProgramLibrary, FolderNamedLikeAnObjectIsSkipped) {
  fs::create_directories(root_ / "a" / "x.bpf.o");
  const std::string b_x = put("b", "x");
  ProgsPath env(dir("a") + ":" + dir("b"));
  EXPECT_EQ(find_library_program("x"), b_x);
}

TEST_F(ProgramLibrary, BinaryInTheBuildTreeUsesItsOwnObjects) {
  // This test runs from inside the build tree, as ./build/bpfq does: the build's objects come
  // before any installed library (which may be older).
  ProgsPath env(std::nullopt);
  const std::vector<std::string> dirs = program_library_dirs();
  ASSERT_FALSE(dirs.empty());
  EXPECT_EQ(dirs.front(), kBuildProgs);
  EXPECT_EQ(find_library_program("fq_codel"), kBuildProgs + "/fq_codel.bpf.o");
}

TEST_F(ProgramLibrary, ShareBesideTheExecutableIsSearched) {
  // An installed bpfq at PREFIX/bin/bpfq finds PREFIX/share/bpfq/progs wherever PREFIX is.
  ProgsPath env(std::nullopt);
  const fs::path exe = fs::read_symlink("/proc/self/exe");
  const std::string beside = (exe.parent_path().parent_path() / "share/bpfq/progs").string();
  const std::vector<std::string> dirs = program_library_dirs();
  EXPECT_NE(std::find(dirs.begin(), dirs.end(), beside), dirs.end());
}

}  // namespace
}  // namespace bpfq::tc
