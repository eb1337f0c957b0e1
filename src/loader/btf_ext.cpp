#include "btf_ext.hpp"

#include <bpfq/error.hpp>

namespace bpfq::loader {

namespace {

// .BTF.ext header; the CO-RE fields exist only when hdr_len covers them.
struct BtfExtHeader {
  uint16_t magic;
  uint8_t version;
  uint8_t flags;
  uint32_t hdr_len;
  uint32_t func_info_off;
  uint32_t func_info_len;
  uint32_t line_info_off;
  uint32_t line_info_len;
  uint32_t core_relo_off;
  uint32_t core_relo_len;
};

constexpr uint16_t kBtfMagic = 0xeB9F;
constexpr uint32_t kHeaderWithoutCore = offsetof(BtfExtHeader, core_relo_off);

// Bounds-checked reads of the section bytes.
class Reader {
 public:
  Reader(std::span<const uint8_t> bytes, std::string what, const std::string& where)
      : bytes_(bytes), what_(std::move(what)), where_(where) {}

  template <typename T>
  T read(uint64_t offset, size_t size = sizeof(T)) const {
    if (offset > bytes_.size() || size > bytes_.size() - offset)
      throw Error(what_ + " is truncated", where_, "the file is corrupted");
    T value{};
    std::memcpy(&value, bytes_.data() + offset, size);
    return value;
  }

 private:
  std::span<const uint8_t> bytes_;
  std::string what_;
  const std::string& where_;
};

}  // namespace

std::vector<BtfExtRecords> read_btf_ext(std::span<const uint8_t> btf_ext, const BtfTypes& btf,
                                        BtfExtPart part, uint32_t min_record_size,
                                        const std::string& where) {
  const std::string what = part == BtfExtPart::LineInfo ? "line info" : "CO-RE relocation info";
  const Reader reader(btf_ext, ".BTF.ext header", where);
  // Only the part of the header hdr_len covers is read (a 24-byte header has no CO-RE fields).
  const auto hdr = reader.read<BtfExtHeader>(0, kHeaderWithoutCore);
  if (hdr.magic != kBtfMagic) throw Error("bad .BTF.ext magic", where, "the file is corrupted");
  if (hdr.hdr_len < kHeaderWithoutCore || hdr.hdr_len > btf_ext.size())
    throw Error(".BTF.ext header length " + std::to_string(hdr.hdr_len) + " is invalid", where,
                "the file is corrupted");
  uint32_t off = hdr.line_info_off, len = hdr.line_info_len;
  if (part == BtfExtPart::CoreRelocations) {
    if (hdr.hdr_len < sizeof(BtfExtHeader)) return {};
    const auto full = reader.read<BtfExtHeader>(0);
    off = full.core_relo_off;
    len = full.core_relo_len;
  }

  std::vector<BtfExtRecords> out;
  if (len == 0) return out;
  const uint64_t begin = uint64_t{hdr.hdr_len} + off;
  const uint64_t end = begin + len;
  if (end > btf_ext.size())
    throw Error(what + " lies outside .BTF.ext", where, "the file is corrupted");

  const Reader records(btf_ext.first(end), what, where);
  const uint32_t record_size = records.read<uint32_t>(begin);
  if (record_size < min_record_size)
    throw Error(what + " record size " + std::to_string(record_size) + " is too small", where,
                "the file is corrupted");
  uint64_t pos = begin + sizeof(uint32_t);
  while (pos < end) {
    BtfExtRecords r;
    r.section = btf.name(records.read<uint32_t>(pos));
    r.count = records.read<uint32_t>(pos + 4);
    r.record_size = record_size;
    pos += 2 * sizeof(uint32_t);
    if (uint64_t{r.count} * record_size > end - pos)
      throw Error(what + " for section " + r.section + " is truncated", where,
                  "the file is corrupted");
    r.bytes = btf_ext.subspan(pos, size_t{r.count} * record_size);
    pos += r.bytes.size();
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace bpfq::loader
