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
      {"engine_packet_access.bpf.o qdisc/enqueue", "math between skb pointer and register"},
      {"engine_fault_every.bpf.o qdisc/enqueue", "invalid mem access 'scalar'"},
      {"engine_load_bytes.bpf.o tc", "expected=fp, pkt, map_value or mem"},
      {"device_cls.bpf.o tc/faulty", "invalid mem access 'pkt_end'"},
      {"prog_check_many.bpf.o tc", "__sk_buff.len, which is read-only"},
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

void verify_all(const fs::path& dir, int& verified, bool strict) {
  for (const fs::path& path : objects(dir)) {
    // The unsafe corpus has its own tests (corpus_c_test.cpp).
    if (path.filename().string().starts_with("verifier_bad_")) continue;
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
        // Test programs written before the verifier, some unsafe on purpose for the run-time
        // checks' tests: counted, not required (the library's must verify).
        if (!strict) {
          verified += r.ok;
          continue;
        }
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
  verify_all(fs::path(BPFQ_BINARY_DIR) / "progs", verified, true);
  EXPECT_GE(verified, 26) << "13 disciplines, enqueue and dequeue each";
}

TEST(VerifyPrograms, EveryTestProgramVerifiesOrIsRefusedForItsReason) {
  int verified = 0;
  verify_all(fs::path(BPFQ_BINARY_DIR) / "progs" / "tests", verified, false);
  EXPECT_GE(verified, 20);
}

}  // namespace
