// Every program bpfq ships (the qdisc library) and every test program of a known type
// verifies; the test programs that are unsafe on purpose are refused with their reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include <bpfq/error.hpp>
#include <bpfq/loader/load_object.hpp>
#include <bpfq/verifier/verifier.hpp>

namespace {

namespace fs = std::filesystem;
using namespace bpfq;

// Test programs written to fail, by object and entry function: a substring of the verifier's
// message.
// The engine's run-time checks are tested with them (run with Verification::RunUnverifiedChecked).
const std::map<std::string, std::string>& expected_refusals() {
  static const std::map<std::string, std::string> m = {
      {"engine_bad_skb_write.bpf.o write_len", "__sk_buff.len, which is read-only"},
      {"engine_bad_skb_write_tc.bpf.o tc_write_data_end", "__sk_buff.data_end, which is read-only"},
      {"engine_packet_access.bpf.o enqueue", "math between skb pointer and register"},
      {"engine_fault_every.bpf.o fault_enqueue", "invalid mem access 'scalar'"},
      {"engine_load_bytes.bpf.o load_tc", "expected=fp, pkt, map_value or mem"},
      {"engine_load_bytes.bpf.o load_enqueue", "invalid zero-sized read"},  // bpf_skb_load_bytes(len 0)
      {"engine_verdicts.bpf.o enqueue", "Unreleased reference"},
      {"engine_verdicts.bpf.o dequeue", "should have been in [0, 6]"},
      {"engine_verdicts.bpf.o forgetful_classifier", "Unreleased reference"},
      {"device_cls.bpf.o faulty", "invalid mem access 'pkt_end'"},
      {"prog_check_many.bpf.o many_tc", "__sk_buff.len, which is read-only"},
      // The loader's tests run these on raw memory: their sections only name them.
      {"loader_calls.bpf.o uses_chain", "invalid bpf_context access off=0 size=4"},
      {"loader_calls.bpf.o uses_loop", "invalid bpf_context access off=0 size=4"},
      {"loader_kfuncs.bpf.o hold", "invalid bpf_context access off=152 size=8"},
      {"loader_maps.bpf.o enqueue", "invalid bpf_context access off=68 size=4"},
      // Calls bpfq does not provide: prog check and the loader tests name them.
      {"prog_check_many.bpf.o many_dequeue", "unknown func #14"},
      {"runtime_bad_helper.bpf.o prog", "unknown func #9999"},
      {"runtime_bad_kfunc.bpf.o prog", "calling kernel function bpf_no_such_kfunc is not allowed"},
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

void verify_all(const fs::path& dir, int& verified, int& refused) {
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
      const std::string key = path.filename().string() + " " + p.name;
      const verifier::VerifyResult r = verifier::verify(p, spec, *type);
      auto it = expected_refusals().find(key);
      if (it == expected_refusals().end()) {
        EXPECT_TRUE(r.ok) << key << ": " << r.to_error(path.string(), p.section).what();
        ++verified;
      } else {
        EXPECT_FALSE(r.ok) << key << " should be refused";
        EXPECT_NE(r.error.message.find(it->second), std::string::npos) << key << ": " << r.error.message;
        ++refused;
      }
    }
  }
}

TEST(VerifyPrograms, EveryLibraryProgramVerifies) {
  int verified = 0, refused = 0;
  verify_all(fs::path(BPFQ_BINARY_DIR) / "progs", verified, refused);
  EXPECT_GE(verified, 26) << "13 disciplines, enqueue and dequeue each";
  EXPECT_EQ(refused, 0);
}

TEST(VerifyPrograms, EveryTestProgramVerifiesOrIsRefusedForItsReason) {
  int verified = 0, refused = 0;
  verify_all(fs::path(BPFQ_BINARY_DIR) / "progs" / "tests", verified, refused);
  EXPECT_GE(verified, 34);
  EXPECT_EQ(refused, static_cast<int>(expected_refusals().size()));
  std::printf("test programs: %d verified, %d refused on purpose\n", verified, refused);
}

}  // namespace
