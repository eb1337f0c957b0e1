#include "line_info.hpp"

#include <algorithm>
#include <cstring>

#include <bpfq/error.hpp>

namespace bpfq::loader {

namespace {

// .BTF.ext header up to the line-info fields (the CO-RE fields that may follow are unused).
struct BtfExtHeader {
  uint16_t magic;
  uint8_t version;
  uint8_t flags;
  uint32_t hdr_len;
  uint32_t func_info_off;
  uint32_t func_info_len;
  uint32_t line_info_off;
  uint32_t line_info_len;
};

struct LineRecord {
  uint32_t insn_off;  // bytes from the section start
  uint32_t file_name_off;
  uint32_t line_off;  // the source text
  uint32_t line_col;  // line << 10 | column
};

constexpr uint16_t kBtfMagic = 0xeB9F;

// Bounds-checked little cursor over the section bytes.
class Reader {
 public:
  Reader(std::span<const uint8_t> bytes, const std::string& where) : bytes_(bytes), where_(where) {}

  template <typename T>
  T read(size_t offset) const {
    if (offset > bytes_.size() || sizeof(T) > bytes_.size() - offset)
      throw Error("line info is truncated", where_, "the file is corrupted");
    T value;
    std::memcpy(&value, bytes_.data() + offset, sizeof value);
    return value;
  }

 private:
  std::span<const uint8_t> bytes_;
  const std::string& where_;
};

}  // namespace

LineTable read_line_info(std::span<const uint8_t> btf_ext, const BtfTypes& btf,
                         const std::string& where) {
  const Reader reader(btf_ext, where);
  const auto hdr = reader.read<BtfExtHeader>(0);
  if (hdr.magic != kBtfMagic) throw Error("bad .BTF.ext magic", where, "the file is corrupted");
  if (hdr.hdr_len < sizeof(BtfExtHeader) || hdr.hdr_len > btf_ext.size())
    throw Error(".BTF.ext header length " + std::to_string(hdr.hdr_len) + " is invalid", where,
                "the file is corrupted");

  LineTable table;
  if (hdr.line_info_len == 0) return table;
  const uint64_t begin = uint64_t{hdr.hdr_len} + hdr.line_info_off;
  const uint64_t end = begin + hdr.line_info_len;
  if (end > btf_ext.size())
    throw Error("line info lies outside .BTF.ext", where, "the file is corrupted");

  const uint32_t record_size = reader.read<uint32_t>(begin);
  if (record_size < sizeof(LineRecord))
    throw Error("line info record size " + std::to_string(record_size) + " is too small", where);
  uint64_t pos = begin + sizeof(uint32_t);
  while (pos < end) {
    if (end - pos < 2 * sizeof(uint32_t)) throw Error("line info is truncated", where);
    const std::string section = btf.name(reader.read<uint32_t>(pos));
    const uint32_t count = reader.read<uint32_t>(pos + 4);
    pos += 2 * sizeof(uint32_t);
    if (uint64_t{count} * record_size > end - pos)
      throw Error("line info for section " + section + " is truncated", where);
    std::vector<SourceLine>& lines = table[section];
    for (uint32_t i = 0; i < count; ++i, pos += record_size) {
      const auto rec = reader.read<LineRecord>(pos);
      if (rec.insn_off % 8 != 0)
        throw Error("line info for section " + section + " points inside an instruction", where);
      lines.push_back({rec.insn_off / 8, btf.name(rec.file_name_off), rec.line_col >> 10,
                       rec.line_col & 0x3ff, btf.name(rec.line_off)});
    }
  }
  for (auto& [section, lines] : table)
    std::stable_sort(lines.begin(), lines.end(),
                     [](const SourceLine& a, const SourceLine& b) { return a.insn < b.insn; });
  return table;
}

}  // namespace bpfq::loader
