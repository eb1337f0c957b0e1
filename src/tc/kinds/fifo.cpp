// The native fifos (sched::PfifoQdisc, BfifoQdisc, PfifoHeadDropQdisc): Linux's sch_fifo.c.
// pfifo and bfifo also exist as library programs; these are their C++ twins, for comparisons.
#include <charconv>

#include <fmt/core.h>

#include <bpfq/sched/fifo_qdisc.hpp>

#include "kinds.hpp"

namespace bpfq::tc::kinds {

namespace {

// `limit N`: packets, or bytes for bfifo (which also takes sizes: 64kb).
uint32_t parse_limit(TcLine& line, bool bytes) {
  const std::string word = line.take(bytes ? "a limit in bytes" : "a limit in packets");
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
  if (ec == std::errc::result_out_of_range || (ec == std::errc() && p == word.data() + word.size())) {
    if (ec != std::errc() || v > UINT32_MAX) line.fail("limit " + word + " is too large", "at most 4294967295");
    return static_cast<uint32_t>(v);
  }
  if (!bytes) line.fail("expected a number, got '" + word + "'", "limit PACKETS");
  const ParamValue size = parse_param_value(word, line.where());
  if (size.kind != ValueKind::Size) line.bad_previous("a size (1514b, 64kb, 1mb)");
  if (size.value > UINT32_MAX) line.fail("limit " + word + " is too large", "at most 4294967295 bytes");
  return static_cast<uint32_t>(size.value);
}

void parse_fifo(TcLine& line, QdiscSpec& spec, bool bytes) {
  if (line.accept("limit")) {
    spec.limit = parse_limit(line, bytes);
    line.expect_end("the end of the line");
  } else {
    line.expect_end("limit or the end of the line");
  }
}

void dump_fifo(sched::Qdisc& q, const QdiscSpec*, QdiscRow& row) {
  const auto& fifo = static_cast<sched::FifoQdisc&>(q);
  row.options = fmt::format("limit {}{}", fifo.limit(), q.kind() == "bfifo" ? "b" : "p");
  row.options_json["limit"] = fifo.limit();
}

}  // namespace

const QdiscKind kNativePfifo{
    "native_pfifo", "native_pfifo [limit PACKETS]", false,
    [](TcLine& line, QdiscSpec& spec) { parse_fifo(line, spec, false); },
    [](const QdiscSpec& spec, const QdiscSite& site, sched::Handle handle, const BeforeInit&) -> std::unique_ptr<sched::Qdisc> {
      return std::make_unique<sched::PfifoQdisc>(spec.limit, handle, site.device);
    },
    dump_fifo, false};

const QdiscKind kNativeBfifo{
    "native_bfifo", "native_bfifo [limit BYTES]", false,
    [](TcLine& line, QdiscSpec& spec) { parse_fifo(line, spec, true); },
    [](const QdiscSpec& spec, const QdiscSite& site, sched::Handle handle, const BeforeInit&) -> std::unique_ptr<sched::Qdisc> {
      return std::make_unique<sched::BfifoQdisc>(spec.limit, handle, site.device);
    },
    dump_fifo, false};

const QdiscKind kPfifoHeadDrop{
    "pfifo_head_drop", "pfifo_head_drop [limit PACKETS]", false,
    [](TcLine& line, QdiscSpec& spec) { parse_fifo(line, spec, false); },
    [](const QdiscSpec& spec, const QdiscSite& site, sched::Handle handle, const BeforeInit&) -> std::unique_ptr<sched::Qdisc> {
      return std::make_unique<sched::PfifoHeadDropQdisc>(spec.limit, handle, site.device);
    },
    dump_fifo, false};

}  // namespace bpfq::tc::kinds
