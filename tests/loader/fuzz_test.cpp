// Deterministic mutation fuzzing under the sanitizers: flip bits, set bytes and words to
// boundary values, copy and truncate chunks, aimed at the ELF header, the section table,
// symbols, relocations, code, BTF and line info of the real test objects. load_object must
// return a consistent ObjectSpec or throw bpfq::Error; any other exception fails the test and
// any memory error aborts it (ASan). Each failure prints the seed that reproduces it.
#include <elf.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "spec_invariants.hpp"
#include "test_support.hpp"

namespace bpfq::loader::test {
namespace {

// x 6 objects = 24k loads, a few seconds under ASan. BPFQ_LOADER_FUZZ_ITERATIONS overrides it
// for a longer run by hand.
constexpr size_t kMutationsPerObject = 4000;

size_t mutations_per_object() {
  const char* env = std::getenv("BPFQ_LOADER_FUZZ_ITERATIONS");
  return env ? std::strtoull(env, nullptr, 10) : kMutationsPerObject;
}

struct Region {
  size_t offset, size;
};

// The parts of the file worth mutating, each equally likely to be chosen.
std::vector<Region> interesting_regions(const RawElf& elf) {
  std::vector<Region> regions = {{0, sizeof(Elf64_Ehdr)}};
  const auto eh = elf.read<Elf64_Ehdr>(0);
  regions.push_back({eh.e_shoff, size_t{eh.e_shnum} * sizeof(Elf64_Shdr)});
  for (const RawSection& s : elf.sections()) {
    const bool wanted = s.sh_type == SHT_SYMTAB || s.sh_type == SHT_REL || s.name == ".BTF" ||
                        s.name == ".BTF.ext" || s.name == ".maps" || s.name == ".strtab" ||
                        (s.sh_flags & SHF_EXECINSTR) != 0;
    if (wanted && s.sh_type != SHT_NOBITS && s.sh_size > 0) regions.push_back({s.sh_offset, s.sh_size});
    // Each section header on its own too, so single-header damage is frequent.
    regions.push_back({s.header_offset, sizeof(Elf64_Shdr)});
  }
  return regions;
}

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  void mutate(std::vector<uint8_t>& bytes, const std::vector<Region>& regions) {
    const Region r = regions[below(regions.size())];
    if (bytes.empty() || r.offset >= bytes.size()) return;
    const size_t size = std::min(r.size, bytes.size() - r.offset);
    const size_t at = r.offset + below(size);
    switch (below(7)) {
      case 0:  // bit flip
        bytes[at] ^= static_cast<uint8_t>(1u << below(8));
        break;
      case 1: {  // byte to a boundary value
        static constexpr uint8_t values[] = {0, 1, 0x7f, 0x80, 0xff, 8, 0x10};
        bytes[at] = values[below(std::size(values))];
        break;
      }
      case 2: {  // aligned 32-bit word to a boundary value (sizes, offsets, indexes, counts)
        const size_t word = r.offset + (below(size) & ~size_t{3});
        if (word + 4 > bytes.size()) break;
        const uint32_t values[] = {0, 1, 0xffffffff, 0x7fffffff, 0x80000000,
                                   static_cast<uint32_t>(bytes.size()), static_cast<uint32_t>(bytes.size() - 1),
                                   static_cast<uint32_t>(below(1u << 16)), 8, 24, 64};
        const uint32_t v = values[below(std::size(values))];
        std::memcpy(bytes.data() + word, &v, 4);
        break;
      }
      case 3: {  // 64-bit add of a small delta (shifts offsets and sizes a little)
        const size_t word = r.offset + (below(size) & ~size_t{7});
        if (word + 8 > bytes.size()) break;
        uint64_t v;
        std::memcpy(&v, bytes.data() + word, 8);
        v += static_cast<uint64_t>(static_cast<int64_t>(below(33)) - 16);
        std::memcpy(bytes.data() + word, &v, 8);
        break;
      }
      case 4: {  // copy a chunk from anywhere in the file over the region
        const size_t len = 1 + below(std::min<size_t>(64, size));
        const size_t from = below(bytes.size());
        for (size_t i = 0; i < len && at + i < bytes.size() && from + i < bytes.size(); ++i)
          bytes[at + i] = bytes[from + i];
        break;
      }
      case 5:  // zero a chunk
        std::memset(bytes.data() + at, 0, std::min<size_t>(1 + below(32), bytes.size() - at));
        break;
      case 6:  // truncate the file inside the region
        bytes.resize(at);
        break;
    }
  }

  size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }

 private:
  std::mt19937_64 rng_;  // fully specified by the standard: the same sequence everywhere
};

struct Outcome {
  size_t loaded = 0, rejected = 0;
  std::map<std::string, size_t> reasons;  // first words of each reason, for the summary
};

// Loads one mutant; returns "" or what went wrong beyond a clean rejection.
std::string load_mutant(const std::vector<uint8_t>& bytes, Outcome& outcome) {
  try {
    const ObjectSpec spec = load_object(bytes, "fuzz.bpf.o");
    ++outcome.loaded;
    return spec_violation(spec);
  } catch (const Error& e) {
    ++outcome.rejected;
    if (e.where().rfind("fuzz.bpf.o", 0) != 0) return "error without the file in where(): " + std::string(e.what());
    if (e.reason().empty()) return "error without a reason";
    ++outcome.reasons[e.reason().substr(0, e.reason().find_first_of("0123456789'(#"))];
    return {};
  } catch (const std::exception& e) {
    return std::string("non-bpfq exception: ") + e.what();
  } catch (...) {
    return "unknown exception";
  }
}

struct FuzzTarget {
  const char* object;
  bool loads;  // the unmutated object loads (the loader_bad_* ones are rejected)
};

void PrintTo(const FuzzTarget& t, std::ostream* os) { *os << t.object; }  // readable ctest names

class Fuzz : public ::testing::TestWithParam<FuzzTarget> {};

TEST_P(Fuzz, MutantsLoadConsistentlyOrFailWithError) {
  const char* object = GetParam().object;
  const std::vector<uint8_t> original = read_bytes(test_object(object));
  const std::vector<Region> regions = interesting_regions(RawElf(original));
  const size_t iterations = mutations_per_object();
  Outcome outcome;
  for (uint64_t seed = 0; seed < iterations; ++seed) {
    Mutator mutator(seed * 0x9e3779b97f4a7c15ull + original.size());
    std::vector<uint8_t> bytes = original;
    const size_t rounds = 1 + mutator.below(4);  // stack a few mutations
    for (size_t i = 0; i < rounds; ++i) mutator.mutate(bytes, regions);
    const std::string problem = load_mutant(bytes, outcome);
    ASSERT_EQ(problem, "") << object << " seed " << seed;
  }
  std::printf("%s: %zu mutants loaded, %zu rejected, %zu distinct reasons\n", object, outcome.loaded,
              outcome.rejected, outcome.reasons.size());
  // Both paths are exercised: mutations of unused bytes load, most others are caught at many
  // different checks.
  if (GetParam().loads) {
    EXPECT_GT(outcome.loaded, iterations / 50);
  }
  EXPECT_GT(outcome.rejected, iterations / 4);
  EXPECT_GT(outcome.reasons.size(), 15u);
}

INSTANTIATE_TEST_SUITE_P(Loader, Fuzz,
                         ::testing::Values(FuzzTarget{"loader_calls", true}, FuzzTarget{"loader_maps", true},
                                           FuzzTarget{"loader_kfuncs", true},
                                           FuzzTarget{"loader_bad_pointer_global", false},
                                           FuzzTarget{"loader_bad_map_field", false},
                                           FuzzTarget{"loader_bad_extern", false}),
                         [](const ::testing::TestParamInfo<FuzzTarget>& info) {
                           return std::string(info.param.object).substr(std::string("loader_").size());
                         });

}  // namespace
}  // namespace bpfq::loader::test
