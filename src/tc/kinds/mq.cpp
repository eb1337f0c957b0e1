// The multi-queue roots (sched::MqQdisc): mq (Linux's sch_mq.c) and mqprio in software mode
// (sch_mqprio.c with hw 0), written as iproute2's q_mq.c / q_mqprio.c read them:
//   mq
//   mqprio [num_tc N] [map P0 P1 ... P15] [queues COUNT@OFFSET ...] hw 0
// Both make one child qdisc per TX queue of the device (`link add dev D numtxqueues N`), class
// :1 .. :N, by default the kernel's default qdisc pfifo_fast; `qdisc add dev D parent 1:N ...`
// puts another there. Like Linux they go only at the root of a multi-queue device.
#include <charconv>

#include <fmt/core.h>

#include <bpfq/error.hpp>
#include <bpfq/sched/mq_qdisc.hpp>

#include "kinds.hpp"

namespace bpfq::tc::kinds {

namespace {

// Linux's default_qdisc_ops, which mq_init and mqprio_init give every real TX queue.
constexpr std::string_view kDefaultChild = "native_pfifo_fast";

// iproute2's mqprio defaults: 8 traffic classes, this priority map, hardware offload.
constexpr std::array<uint8_t, 16> kDefaultMap = {0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 1, 1, 3, 3, 3, 3};

std::unique_ptr<sched::Qdisc> default_child(const QdiscSite& site, sched::Handle classid) {
  QdiscSpec spec;
  spec.kind = spec.name = spec.text = std::string(kDefaultChild);
  QdiscSite child_site = site;
  child_site.parent = classid;
  child_site.tx_queue = true;
  child_site.build_child = nullptr;
  return make_qdisc(spec, child_site, sched::Handle());
}

std::unique_ptr<sched::Qdisc> create_mq(std::string_view kind, sched::TxQueueMap map, const QdiscSite& site,
                                        sched::Handle handle) {
  const std::string name(kind);
  if (!site.parent.is_root())
    throw Error(name + " goes only at the root of a device, not under class " + site.parent.to_string(), "",
                "qdisc add dev " + site.dev + " root handle 1: " + name + " (Linux refuses it elsewhere too)");
  const uint32_t n = site.device.num_tx_queues;
  if (n < 2)
    throw Error(name + " needs a device with several TX queues; " + site.dev + " has " + std::to_string(n), "",
                "declare the device first: link add dev " + site.dev + " numtxqueues 4");
  map.num_tx_queues = n;
  if (const std::string why = map.invalid(); map.num_tc && !why.empty())
    throw Error(name + ": " + why, "", "queues COUNT@OFFSET, one per traffic class, inside the device's " +
                                           std::to_string(n) + " TX queues (0 to " + std::to_string(n - 1) + ")");
  std::vector<std::unique_ptr<sched::Qdisc>> children;
  for (uint32_t i = 0; i < n; ++i) {
    const sched::Handle classid = sched::Handle::make(handle.major(), static_cast<uint16_t>(i + 1));
    children.push_back(site.build_child ? site.build_child(classid, kDefaultChild) : default_child(site, classid));
  }
  static constexpr std::string_view kMq = "mq", kMqprio = "mqprio";
  return std::make_unique<sched::MqQdisc>(kind == kMq ? kMq : kMqprio, handle, map, std::move(children));
}

// A small decimal number of a list (map entries, num_tc, counts): nullopt if word is none.
std::optional<uint32_t> number(const std::string& word, uint32_t max) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
  if (ec != std::errc() || p != word.data() + word.size() || v > max) return std::nullopt;
  return v;
}

bool is_number(const std::string* word) { return word && number(*word, UINT32_MAX).has_value(); }

// COUNT@OFFSET.
std::optional<sched::TxQueueRange> queue_range(const std::string& word) {
  const size_t at = word.find('@');
  if (at == std::string::npos) return std::nullopt;
  const auto count = number(word.substr(0, at), 0xffff);
  const auto offset = number(word.substr(at + 1), 0xffff);
  if (!count || !offset) return std::nullopt;
  return sched::TxQueueRange{static_cast<uint16_t>(*count), static_cast<uint16_t>(*offset)};
}

void parse_mqprio(TcLine& line, QdiscSpec& spec) {
  sched::TxQueueMap map;
  map.num_tc = 8;
  map.prio_tc_map = kDefaultMap;
  std::optional<uint32_t> hw;
  uint32_t pairs = 0;
  const char* options = "num_tc, map, queues, hw or the end of the line";
  while (!line.done()) {
    const std::string option = line.take(options);
    if (option == "num_tc") {
      map.num_tc = static_cast<uint32_t>(line.take_number("a number of traffic classes (1 to 16)", 255));
    } else if (option == "map") {
      // Up to 16 traffic classes, one per priority; priorities not given go to class 0.
      map.prio_tc_map = {};
      size_t i = 0;
      while (i < map.prio_tc_map.size() && is_number(line.peek())) {
        const std::string word = line.take("");
        const auto tc = number(word, 255);
        if (!tc) line.bad_previous("a traffic class (0 to 15)");
        map.prio_tc_map[i++] = static_cast<uint8_t>(*tc);
      }
      if (i == 0) line.unexpected("the traffic class of priority 0 (map 0 0 1 1 ...)");
    } else if (option == "queues") {
      pairs = 0;
      while (pairs < sched::kMaxTrafficClasses && line.peek() && line.peek()->find('@') != std::string::npos) {
        const std::string word = line.take("");
        const auto range = queue_range(word);
        if (!range) line.bad_previous("COUNT@OFFSET (2@0: two queues from queue 0)");
        map.tc_to_txq[pairs++] = *range;
      }
      if (pairs == 0) line.unexpected("COUNT@OFFSET for traffic class 0 (queues 1@0 1@1 2@2)");
    } else if (option == "hw") {
      hw = static_cast<uint32_t>(line.take_number("0 (software) or 1 (offload)", 255));
    } else if (option == "mode" || option == "shaper" || option == "fp" || option == "min_rate" ||
               option == "max_rate") {
      line.fail("mqprio " + option + " configures hardware offload, which bpfq's devices do not have",
                "mqprio in software: num_tc, map, queues and hw 0");
    } else {
      line.bad_previous(options);
    }
  }
  if (pairs > map.num_tc)
    line.fail(fmt::format("{} queues COUNT@OFFSET pairs for num_tc {}", pairs, map.num_tc),
              "one pair per traffic class");
  if (hw.value_or(1) != 0)
    line.fail("mqprio hw " + std::to_string(hw.value_or(1)) + " asks for hardware offload, which bpfq's devices do not have",
              "write hw 0: mqprio in software (iproute2's default is hw 1)");
  if (map.num_tc == 0 || map.num_tc > sched::kMaxTrafficClasses)
    line.fail(fmt::format("num_tc {} is outside 1 to {}", map.num_tc, sched::kMaxTrafficClasses));
  spec.tx_queue_map = map;
}

sched::MqQdisc& as_mq(sched::Qdisc& q) { return static_cast<sched::MqQdisc&>(q); }

}  // namespace

const QdiscKind kMq{
    "mq", "mq   (one child per TX queue: link add dev D numtxqueues N)", true,
    [](TcLine& line, QdiscSpec&) { line.expect_end("the end of the line (mq takes no options)"); },
    [](const QdiscSpec&, const QdiscSite& site, sched::Handle handle, const BeforeInit&) {
      return create_mq("mq", sched::TxQueueMap{}, site, handle);
    },
    [](sched::Qdisc& q, const QdiscSpec*, QdiscRow& row) {
      // tc shows mq's counters as the sum of its queues' (mq_dump).
      row.stats = as_mq(q).children_stats();
      row.options_json["num_tx_queues"] = as_mq(q).num_tx_queues();
    },
    true};

const QdiscKind kMqprio{
    "mqprio", "mqprio [num_tc N] [map P0 P1 ... P15] [queues COUNT@OFFSET ...] hw 0", true, parse_mqprio,
    [](const QdiscSpec& spec, const QdiscSite& site, sched::Handle handle, const BeforeInit&) {
      return create_mq("mqprio", *spec.tx_queue_map, site, handle);
    },
    [](sched::Qdisc& q, const QdiscSpec*, QdiscRow& row) {
      const sched::MqQdisc& mq = as_mq(q);
      const sched::TxQueueMap& map = mq.tx_queue_map();
      row.stats = mq.children_stats();
      row.options = fmt::format("tc {} map", map.num_tc);
      row.options_json["tc"] = map.num_tc;
      row.options_json["map"] = nlohmann::json::array();
      for (const uint8_t tc : map.prio_tc_map) {
        row.options += fmt::format(" {}", tc);
        row.options_json["map"].push_back(tc);
      }
      row.options += " queues:";
      row.options_json["queues"] = nlohmann::json::array();
      for (uint32_t tc = 0; tc < map.num_tc; ++tc) {
        const sched::TxQueueRange r = map.tc_to_txq[tc];
        row.options += fmt::format("({}:{}) ", r.offset, r.offset + r.count - 1);
        row.options_json["queues"].push_back({r.offset, r.offset + r.count - 1});
      }
      if (!row.options.empty() && row.options.back() == ' ') row.options.pop_back();
      row.options_json["hw"] = 0;
    },
    true};

}  // namespace bpfq::tc::kinds
