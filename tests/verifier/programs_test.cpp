// Every program bpfq ships (the qdisc library) and every test program of a known type
// verifies; the test programs that are unsafe on purpose are refused with their reason.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include <bpfq/error.hpp>
#include <bpfq/loader/load_object.hpp>
#include <bpfq/verifier/verifier.hpp>

namespace {

namespace fs = std::filesystem;
using namespace bpfq;

// Test programs written to fail, by object and section: a substring of the verifier's message.
const std::map<std::string, std::string>& expected_refusals() {
  static const std::map<std::string, std::string> m = {
      {"engine_bad_skb_write.bpf.o qdisc/enqueue", "__sk_buff.len, which is read-only"},
      {"engine_bad_skb_write_tc.bpf.o tc", "read-only"},
      {"engine_packet_access.bpf.o qdisc/enqueue", "dereference of modified skb ptr"},
  };
  return m;
}

std::vector<fs::path> objects(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().string().ends_with(".bpf.o")) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

void verify_all(const fs::path& dir, int& verified) {
  for (const fs::path& path : objects(dir)) {
    loader::ObjectSpec spec;
    try {
      spec = loader::load_object(path.string());
    } catch (const Error&) {
      continue;  // loader tests' broken objects
    }
    for (const loader::ProgramSpec& p : spec.programs) {
      const verifier::ProgramType* type = verifier::program_type_for_section(p.section);
      if (!type) continue;
      const std::string key = path.filename().string() + " " + p.section;
      const verifier::VerifyResult r = verifier::verify(p, spec, *type);
      auto it = expected_refusals().find(key);
      if (it == expected_refusals().end()) {
        EXPECT_TRUE(r.ok) << key << ": " << r.to_error(path.string(), p.section).what();
        ++verified;
      } else {
        EXPECT_FALSE(r.ok) << key << " should be refused";
        EXPECT_NE(r.error.message.find(it->second), std::string::npos) << key << ": " << r.error.message;
      }
    }
  }
}

TEST(VerifyPrograms, EveryLibraryProgramVerifies) {
  int verified = 0;
  verify_all(fs::path(BPFQ_BINARY_DIR) / "progs", verified);
  EXPECT_GE(verified, 26) << "13 disciplines, enqueue and dequeue each";
}

TEST(VerifyPrograms, EveryTestProgramVerifiesOrIsRefusedForItsReason) {
  int verified = 0;
  verify_all(fs::path(BPFQ_BINARY_DIR) / "progs" / "tests", verified);
  EXPECT_GE(verified, 20);
}

}  // namespace
