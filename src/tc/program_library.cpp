#include <bpfq/tc/program_library.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace bpfq::tc {

namespace fs = std::filesystem;

namespace {

bool is_within(const fs::path& path, const fs::path& root) {
  return std::mismatch(root.begin(), root.end(), path.begin(), path.end()).first == root.end();
}

}  // namespace

std::vector<std::string> program_library_dirs() {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("BPFQ_PROGS_PATH")) {
    std::string_view rest = path;
    while (!rest.empty()) {
      const size_t colon = rest.find(':');
      const std::string_view dir = rest.substr(0, colon);
      if (!dir.empty()) dirs.emplace_back(dir);
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  const fs::path build_progs = BPFQ_BUILD_PROGS_DIR;
  std::error_code canon_ec;
  const fs::path build_dir = fs::weakly_canonical(build_progs.parent_path(), canon_ec);
  // A bpfq run from its build tree uses the objects built with it, not an older install's.
  const bool in_build_tree = !ec && !canon_ec && is_within(exe, build_dir);
  if (in_build_tree) dirs.push_back(build_progs.string());
  if (!ec) dirs.push_back((exe.parent_path().parent_path() / "share/bpfq/progs").string());
  dirs.push_back(BPFQ_INSTALL_PROGS_DIR);
  if (!in_build_tree) dirs.push_back(build_progs.string());
  return dirs;
}

std::string find_library_program(std::string_view name) {
  if (name.empty() || name.find('/') != std::string_view::npos) return {};
  for (const std::string& dir : program_library_dirs()) {
    const fs::path candidate = fs::path(dir) / (std::string(name) + ".bpf.o");
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return candidate.string();
  }
  return {};
}

}  // namespace bpfq::tc
