// The native pfifo_fast (sched::PfifoFastQdisc): Linux's default three-band qdisc.
#include <fmt/core.h>

#include <bpfq/sched/pfifo_fast_qdisc.hpp>

#include "kinds.hpp"

namespace bpfq::tc::kinds {

const QdiscKind kNativePfifoFast{
    "native_pfifo_fast", "native_pfifo_fast", false,
    [](TcLine& line, QdiscSpec&) { line.expect_end("the end of the line (pfifo_fast takes no options)"); },
    [](const QdiscSpec&, const QdiscSite& site, sched::Handle handle, const BeforeInit&) -> std::unique_ptr<sched::Qdisc> {
      return std::make_unique<sched::PfifoFastQdisc>(handle, site.device);
    },
    [](sched::Qdisc&, const QdiscSpec*, QdiscRow& row) {
      row.options = "bands 3 priomap";
      row.options_json["bands"] = sched::PfifoFastQdisc::kBands;
      row.options_json["priomap"] = nlohmann::json::array();
      for (const uint8_t band : sched::PfifoFastQdisc::kPrioToBand) {
        row.options += fmt::format(" {}", band);
        row.options_json["priomap"].push_back(band);
      }
    },
    false};

}  // namespace bpfq::tc::kinds
