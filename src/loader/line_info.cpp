#include "line_info.hpp"

#include <algorithm>

#include <bpfq/error.hpp>

#include "btf_ext.hpp"

namespace bpfq::loader {

namespace {

struct LineRecord {
  uint32_t insn_off;  // bytes from the section start
  uint32_t file_name_off;
  uint32_t line_off;  // the source text
  uint32_t line_col;  // line << 10 | column
};

}  // namespace

LineTable read_line_info(std::span<const uint8_t> btf_ext, const BtfTypes& btf,
                         const std::string& where) {
  LineTable table;
  for (const BtfExtRecords& records :
       read_btf_ext(btf_ext, btf, BtfExtPart::LineInfo, sizeof(LineRecord), where)) {
    std::vector<SourceLine>& lines = table[records.section];
    for (uint32_t i = 0; i < records.count; ++i) {
      const auto rec = records.record<LineRecord>(i);
      if (rec.insn_off % 8 != 0)
        throw Error("line info for section " + records.section + " points inside an instruction",
                    where);
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
