#pragma once
// The .BTF.ext section: a header, then subsections (func info, line info, CO-RE relocations),
// each a record size followed, per ELF section, by {u32 section name (.BTF string), u32 count}
// and that many records. Shared by the line-info and CO-RE readers.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "btf_types.hpp"

namespace bpfq::loader {

enum class BtfExtPart { LineInfo, CoreRelocations };

// The records one subsection holds for one ELF section.
struct BtfExtRecords {
  std::string section;             // ELF section name
  uint32_t count = 0;
  uint32_t record_size = 0;        // at least the minimum the caller asked for
  std::span<const uint8_t> bytes;  // count * record_size bytes

  // Record i's leading sizeof(T) bytes (newer compilers may append fields).
  template <typename T>
  T record(size_t i) const {
    T value;
    std::memcpy(&value, bytes.data() + i * record_size, sizeof value);
    return value;
  }
};

// The subsection's records, validated against the section's bounds; empty when it is absent
// (CO-RE relocations need a header of at least 32 bytes). Throws bpfq::Error at `where` for a
// bad header, a record size below min_record_size, truncated data or a bad section name.
std::vector<BtfExtRecords> read_btf_ext(std::span<const uint8_t> btf_ext, const BtfTypes& btf,
                                        BtfExtPart part, uint32_t min_record_size,
                                        const std::string& where);

}  // namespace bpfq::loader
