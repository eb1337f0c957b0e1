#include <bpfq/tc/setup_show.hpp>

#include <fmt/core.h>

namespace bpfq::tc {

namespace {

// tc prints an unnamed qdisc (a class's default pfifo) as "0:".
std::string handle_text(sched::Handle h) { return h.is_unspec() ? "0:" : h.to_string(); }

// tc names the device only when the listing is not for one device.
std::string dev_text(const ShowCommand& cmd, const std::string& dev) { return cmd.dev ? "" : "dev " + dev + " "; }

bool selected(const ShowCommand& cmd, const std::string& dev) { return !cmd.dev || *cmd.dev == dev; }

std::string stats_text(const sched::QdiscStats& s) {
  return "\n" + s.to_tc_string() +
         fmt::format("\n enqueued {} bytes {} pkt", s.enqueued_bytes, s.enqueued_packets);
}

void add_stats(nlohmann::json& j, const sched::QdiscStats& s) {
  j["bytes"] = s.sent_bytes;
  j["packets"] = s.sent_packets;
  j["drops"] = s.tc_dropped();
  j["overlimits"] = s.overlimits;
  j["requeues"] = s.requeues;
  j["backlog"] = s.backlog;
  j["qlen"] = s.qlen;
  j["enqueued_bytes"] = s.enqueued_bytes;
  j["enqueued_packets"] = s.enqueued_packets;
}

}  // namespace

std::string show_text(const SetupSnapshot& snapshot, const ShowCommand& cmd, bool stats) {
  std::string out;
  switch (cmd.what) {
    case ShowCommand::What::Qdisc:
      for (const QdiscRow& q : snapshot.qdiscs) {
        if (!selected(cmd, q.dev)) continue;
        // clsact hangs off ffff:fff1, which tc prints as such (not "ingress").
        const std::string parent = q.parent.is_root() ? "root"
                                   : q.kind == "clsact" ? "parent ffff:fff1"
                                                        : "parent " + q.parent.to_string();
        out += fmt::format("qdisc {} {} {}{}{}{}", q.kind, handle_text(q.handle), dev_text(cmd, q.dev), parent,
                           q.options.empty() ? "" : " ", q.options);
        if (stats) {
          out += stats_text(q.stats);
          if (q.program_runs) {
            out += fmt::format("\n program runs {} faults {} leaked_refs {} bad_dequeues {}", *q.program_runs,
                               *q.program_faults, *q.leaked_refs, *q.bad_dequeues);
            if (q.leaked_objects) out += fmt::format(" leaked_objects {}", q.leaked_objects);
            if (!q.last_fault.empty()) out += "\n last fault: " + q.last_fault;
            for (const std::string& why : q.unverified) out += "\n not verified, runs checked: " + why;
          }
        }
        out += "\n";
      }
      break;
    case ShowCommand::What::Class:
      for (const ClassRow& c : snapshot.classes) {
        if (!selected(cmd, c.dev)) continue;
        out += fmt::format("class {} {} {}parent {} leaf {}{}{}", c.kind, c.classid.to_string(), dev_text(cmd, c.dev),
                           c.parent.to_string(), handle_text(c.leaf), c.options.empty() ? "" : " ", c.options);
        if (stats) out += stats_text(c.stats);
        out += "\n";
      }
      break;
    case ShowCommand::What::Filter:
      for (const FilterRow& f : snapshot.filters) {
        if (!selected(cmd, f.dev)) continue;
        out += fmt::format("filter {}parent {} protocol {} pref {} {} chain {} {}\n", dev_text(cmd, f.dev),
                           f.parent.to_string(), f.protocol, f.prio, f.kind, f.chain, f.options);
      }
      break;
  }
  return out;
}

nlohmann::json show_json(const SetupSnapshot& snapshot, const ShowCommand& cmd, bool stats) {
  nlohmann::json out = nlohmann::json::array();
  switch (cmd.what) {
    case ShowCommand::What::Qdisc:
      for (const QdiscRow& q : snapshot.qdiscs) {
        if (!selected(cmd, q.dev)) continue;
        nlohmann::json j{{"kind", q.kind}, {"handle", handle_text(q.handle)}, {"dev", q.dev}};
        if (q.parent.is_root())
          j["root"] = true;
        else
          j["parent"] = q.parent.to_string();
        j["default"] = q.is_default;
        j["options"] = q.options_json;
        if (stats) {
          add_stats(j, q.stats);
          if (q.program_runs)
            j["program"] = {{"runs", *q.program_runs},     {"faults", *q.program_faults},
                            {"leaked_refs", *q.leaked_refs}, {"bad_dequeues", *q.bad_dequeues},
                            {"leaked_objects", q.leaked_objects},
                            {"last_fault", q.last_fault},   {"unverified", q.unverified}};
        }
        out.push_back(std::move(j));
      }
      break;
    case ShowCommand::What::Class:
      for (const ClassRow& c : snapshot.classes) {
        if (!selected(cmd, c.dev)) continue;
        nlohmann::json j{{"class", c.kind}, {"handle", c.classid.to_string()}, {"dev", c.dev},
                         {"parent", c.parent.to_string()}, {"leaf", handle_text(c.leaf)}, {"options", c.options_json}};
        if (stats) add_stats(j, c.stats);
        out.push_back(std::move(j));
      }
      break;
    case ShowCommand::What::Filter:
      for (const FilterRow& f : snapshot.filters) {
        if (!selected(cmd, f.dev)) continue;
        out.push_back({{"dev", f.dev}, {"parent", f.parent.to_string()}, {"protocol", f.protocol},
                       {"pref", f.prio}, {"kind", f.kind}, {"chain", f.chain}, {"options", f.options}});
      }
      break;
  }
  return out;
}

}  // namespace bpfq::tc
