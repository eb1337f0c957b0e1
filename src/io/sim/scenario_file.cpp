#include <bpfq/io/sim/scenario_file.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include <toml.hpp>

#include <bpfq/error.hpp>

namespace bpfq::io::sim {
namespace {

constexpr size_t kMaxTomlNesting = 32;

// Reads one TOML table, remembering which keys were consumed so that typos are errors.
class Table {
 public:
  Table(const toml::value& value, std::string path, const std::string& file) : value_(value), path_(std::move(path)), file_(file) {}

  const toml::value* find(const std::string& key) {
    used_.insert(key);
    const auto& table = value_.as_table();
    auto it = table.find(key);
    return it == table.end() ? nullptr : &it->second;
  }
  [[noreturn]] void fail(const toml::value& v, const std::string& key, const std::string& what,
                         const std::string& hint = {}) const {
    throw Error("key '" + qualified(key) + "': " + what, where(v), hint);
  }
  std::string where(const toml::value& v) const { return file_ + ":" + std::to_string(v.location().line()); }
  std::string qualified(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  // Unknown keys, in sorted order so that the first one reported is stable.
  void reject_unknown() const {
    std::vector<std::string> keys;
    for (const auto& [k, v] : value_.as_table()) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    for (const std::string& k : keys)
      if (!used_.count(k)) fail(value_.as_table().at(k), k, "unknown key", "see docs/simulator.md for the scenario format");
  }
  const std::string& file() const { return file_; }
  const std::string& path() const { return path_; }
  const toml::value& value() const { return value_; }

 private:
  const toml::value& value_;
  std::string path_;
  const std::string& file_;
  std::set<std::string> used_;
};

// "10mbit" -> (10, "mbit"); false if the text is no number with an optional unit.
bool split_quantity(const std::string& text, double& number, std::string& unit) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == 0) return false;
  try {
    size_t used = 0;
    number = std::stod(text.substr(0, i), &used);
    if (used != i) return false;
  } catch (const std::exception&) {
    return false;
  }
  size_t j = i;
  while (j < text.size() && text[j] == ' ') ++j;
  unit = text.substr(j);
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return std::tolower(c); });
  return true;
}

struct Unit {
  const char* name;
  double scale;
};

// The value as the file wrote it, for messages.
std::string value_text(const toml::value& v) {
  if (v.is_string()) return "\"" + v.as_string().str + "\"";
  if (v.is_integer()) return std::to_string(v.as_integer());
  std::ostringstream out;
  if (v.is_floating()) out << v.as_floating();
  return out.str();
}

// Above max (given as max_text, in the file's units) is an error rather than a value that
// overflows or is cut to fit its field.
uint64_t quantity(Table& t, const std::string& key, const toml::value& v, const std::vector<Unit>& units,
                  double bare_scale, const char* kind, const char* example, uint64_t max, const std::string& max_text) {
  double number = 0;
  double scale = bare_scale;
  if (v.is_integer()) {
    number = static_cast<double>(v.as_integer());
  } else if (v.is_floating()) {
    number = v.as_floating();
  } else if (v.is_string()) {
    std::string unit;
    if (!split_quantity(v.as_string().str, number, unit)) t.fail(v, key, std::string("not a ") + kind, std::string("e.g. ") + example);
    auto it = std::find_if(units.begin(), units.end(), [&](const Unit& u) { return unit == u.name; });
    if (it == units.end()) t.fail(v, key, "unknown unit '" + unit + "' for a " + kind, std::string("e.g. ") + example);
    scale = it->scale;
  } else {
    t.fail(v, key, std::string("expected a ") + kind, std::string("e.g. ") + example);
  }
  if (std::isnan(number)) t.fail(v, key, std::string("not a ") + kind, std::string("e.g. ") + example);
  if (number < 0) t.fail(v, key, "must not be negative");
  const double scaled = std::round(number * scale);
  if (!(scaled <= static_cast<double>(max)))
    t.fail(v, key, value_text(v) + " is out of range (at most " + max_text + ")");
  return static_cast<uint64_t>(scaled);
}

const std::vector<Unit> kTimeUnits{{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"", 1e9}};
const std::vector<Unit> kRateUnits{{"bit", 1}, {"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9}, {"", 1}};
const std::vector<Unit> kSizeUnits{{"b", 1}, {"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"kib", 1024}, {"mib", 1048576}, {"", 1}};

void read_time(Table& t, const std::string& key, uint64_t& out) {
  if (const toml::value* v = t.find(key))
    out = quantity(t, key, *v, kTimeUnits, 1e9, "time", "\"40ms\"", kMaxTimeNs, std::to_string(kMaxTimeNs / kSecond) + "s");
}
void read_rate(Table& t, const std::string& key, uint64_t& out) {
  if (const toml::value* v = t.find(key))
    out = quantity(t, key, *v, kRateUnits, 1, "rate", "\"10mbit\"", kMaxRateBps, std::to_string(kMaxRateBps / 1'000'000'000) + "gbit");
}
// max bounds what the field T may receive: nothing is cut to fit.
template <typename T>
void read_size(Table& t, const std::string& key, T& out, uint64_t max) {
  if (const toml::value* v = t.find(key))
    out = static_cast<T>(quantity(t, key, *v, kSizeUnits, 1, "size", "\"64KB\"", max, std::to_string(max) + " bytes"));
}
void read_count(Table& t, const std::string& key, uint64_t& out, uint64_t max = UINT64_MAX) {
  if (const toml::value* v = t.find(key)) {
    if (!v->is_integer() || v->as_integer() < 0) t.fail(*v, key, "expected a non-negative integer");
    out = static_cast<uint64_t>(v->as_integer());
    if (out > max) t.fail(*v, key, std::to_string(out) + " is out of range (at most " + std::to_string(max) + ")");
  }
}
void read_bool(Table& t, const std::string& key, bool& out) {
  if (const toml::value* v = t.find(key)) {
    if (!v->is_boolean()) t.fail(*v, key, "expected true or false");
    out = v->as_boolean();
  }
}
void read_string(Table& t, const std::string& key, std::string& out) {
  if (const toml::value* v = t.find(key)) {
    if (!v->is_string()) t.fail(*v, key, "expected a string");
    out = v->as_string().str;
  }
}
void read_number(Table& t, const std::string& key, double& out) {
  if (const toml::value* v = t.find(key)) {
    if (v->is_integer()) out = static_cast<double>(v->as_integer());
    else if (v->is_floating()) out = v->as_floating();
    else t.fail(*v, key, "expected a number");
    if (!std::isfinite(out)) t.fail(*v, key, "expected a finite number");
  }
}
// A string naming one of choices; anything else is "unknown <what>" with hint.
template <typename E>
void read_choice(Table& t, const std::string& key, E& out, std::initializer_list<std::pair<std::string_view, E>> choices,
                 const char* what, const char* hint) {
  if (const toml::value* v = t.find(key)) {
    std::string s = v->is_string() ? v->as_string().str : "";
    for (const auto& [name, value] : choices) {
      if (s == name) {
        out = value;
        return;
      }
    }
    t.fail(*v, key, std::string("unknown ") + what, hint);
  }
}
void read_cc(Table& t, const std::string& key, CongestionControl& out) {
  read_choice(t, key, out,
              {{"cubic", CongestionControl::Cubic}, {"newreno", CongestionControl::NewReno}, {"reno", CongestionControl::NewReno}},
              "congestion control", "\"cubic\" or \"newreno\"");
}

// The array of tables `key` (e.g. [[tcp]]), each handed to read with its qualified path. A
// non-empty array replaces what list held (a preset's flows).
template <typename T, typename F>
void each_table(Table& root, const std::string& key, std::vector<T>& list, F read) {
  const toml::value* v = root.find(key);
  if (!v) return;
  if (!v->is_array()) root.fail(*v, key, "expected an array of tables", "write [[" + key + "]]");
  const auto& items = v->as_array();
  if (!items.empty()) list.clear();
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_table()) root.fail(items[i], key, "expected a table", "write [[" + key + "]]");
    Table t(items[i], key + "[" + std::to_string(i) + "]", root.file());
    read(t);
    t.reject_unknown();
  }
}

// A flow table's spec with what every flow kind reads first: `ipv6` (defaulting to the file's
// `ip`) and `name`.
template <typename Spec>
Spec flow_spec(Table& t, bool ipv6) {
  Spec f;
  f.ipv6 = ipv6;
  read_bool(t, "ipv6", f.ipv6);
  read_string(t, "name", f.name);
  return f;
}

// A path named in the scenario file: relative ones are relative to the file's folder.
std::string beside(const std::string& scenario_file, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  const size_t slash = scenario_file.rfind('/');
  return slash == std::string::npos ? path : scenario_file.substr(0, slash + 1) + path;
}

Scenario from_toml(const toml::value& doc, const std::string& file) {
  Table root(doc, "", file);
  Scenario s;
  if (const toml::value* v = root.find("preset")) {
    if (!v->is_string()) root.fail(*v, "preset", "expected a string");
    try {
      s = preset(v->as_string().str);
    } catch (const Error& e) {
      root.fail(*v, "preset", e.reason(), e.hint());
    }
  }
  // ip = 6 makes every flow IPv6 (the preset's too); a flow's own `ipv6` overrides it.
  bool ipv6 = false;
  if (const toml::value* v = root.find("ip")) {
    if (!v->is_integer() || (v->as_integer() != 4 && v->as_integer() != 6)) root.fail(*v, "ip", "expected 4 or 6");
    ipv6 = v->as_integer() == 6;
    s.set_ip_version(ipv6 ? 6 : 4);
  }
  read_string(root, "name", s.name);
  read_string(root, "pcap_output", s.pcap_output);
  read_time(root, "duration", s.duration_ns);
  read_count(root, "seed", s.seed);
  read_time(root, "sample_interval", s.sample_interval_ns);
  uint64_t pool = s.pool_packets;
  read_count(root, "pool_packets", pool, kMaxPoolPackets);
  s.pool_packets = static_cast<uint32_t>(pool);
  if (const toml::value* v = root.find("link")) {
    if (!v->is_table()) root.fail(*v, "link", "expected a table", "write [link]");
    Table link(*v, "link", file);
    read_rate(link, "rate", s.rate_bps);
    read_time(link, "rtt", s.rtt_ns);
    read_size(link, "mtu", s.mtu, kMaxMtu);
    link.reject_unknown();
  }
  each_table(root, "tcp", s.tcp, [&](Table& t) {
    TcpFlowSpec f = flow_spec<TcpFlowSpec>(t, ipv6);
    uint64_t count = 1;
    read_cc(t, "cc", f.cc);
    read_time(t, "start", f.start_ns);
    read_time(t, "stop", f.stop_ns);
    if (const toml::value* v = t.find("bytes")) {
      if (v->is_string() && v->as_string().str == "bulk") f.bytes = 0;
      else f.bytes = quantity(t, "bytes", *v, kSizeUnits, 1, "size", "\"1MB\" or \"bulk\"", kMaxFlowBytes,
                              std::to_string(kMaxFlowBytes) + " bytes");
    }
    read_bool(t, "ecn", f.ecn);
    read_bool(t, "sack", f.sack);
    read_count(t, "count", count, kMaxScenarioFlows);
    // Checked before the flows exist: a huge count must not allocate first.
    if (s.tcp.size() + count > kMaxScenarioFlows)
      t.fail(t.find("count") ? *t.find("count") : t.value(), "count",
             std::to_string(s.tcp.size() + count) + " tcp flows are over the limit of " + std::to_string(kMaxScenarioFlows) +
                 " flows in a scenario");
    for (uint64_t i = 0; i < count; ++i) {
      s.tcp.push_back(f);
      if (count > 1) s.tcp.back().name += std::to_string(i);
    }
  });
  each_table(root, "udp", s.udp, [&](Table& t) {
    UdpFlowSpec f = flow_spec<UdpFlowSpec>(t, ipv6);
    read_choice(t, "pattern", f.pattern,
                {{"cbr", UdpPattern::Cbr}, {"poisson", UdpPattern::Poisson}, {"onoff", UdpPattern::OnOff}}, "pattern",
                "\"cbr\", \"poisson\" or \"onoff\"");
    read_rate(t, "rate", f.rate_bps);
    read_size(t, "size", f.payload_bytes, kMaxMtu);
    read_time(t, "start", f.start_ns);
    read_time(t, "stop", f.stop_ns);
    read_time(t, "on", f.on_ns);
    read_time(t, "off", f.off_ns);
    uint64_t dscp = f.dscp;
    read_count(t, "dscp", dscp, 63);
    f.dscp = static_cast<uint8_t>(dscp);
    uint64_t priority = f.priority;
    read_count(t, "priority", priority, UINT32_MAX);
    f.priority = static_cast<uint32_t>(priority);
    read_bool(t, "ecn", f.ecn);
    s.udp.push_back(f);
  });
  each_table(root, "ping", s.pings, [&](Table& t) {
    PingSpec f = flow_spec<PingSpec>(t, ipv6);
    read_time(t, "interval", f.interval_ns);
    read_size(t, "size", f.payload_bytes, kMaxMtu);
    read_time(t, "start", f.start_ns);
    read_time(t, "stop", f.stop_ns);
    s.pings.push_back(f);
  });
  each_table(root, "short_flows", s.short_flows, [&](Table& t) {
    ShortFlowSpec f = flow_spec<ShortFlowSpec>(t, ipv6);
    read_number(t, "rate", f.arrivals_per_s);
    read_cc(t, "cc", f.cc);
    read_bool(t, "ecn", f.ecn);
    read_bool(t, "sack", f.sack);
    read_time(t, "start", f.start_ns);
    read_time(t, "stop", f.stop_ns);
    if (const toml::value* v = t.find("size")) {
      if (!v->is_table()) t.fail(*v, "size", "expected a table", "size = { dist = \"pareto\", mean = \"100KB\" }");
      Table d(*v, t.path() + ".size", file);
      using Kind = SizeDistribution::Kind;
      read_choice(d, "dist", f.size.kind,
                  {{"fixed", Kind::Fixed}, {"exponential", Kind::Exponential}, {"pareto", Kind::Pareto}}, "distribution",
                  "\"fixed\", \"exponential\" or \"pareto\"");
      read_size(d, "mean", f.size.mean_bytes, kMaxFlowBytes);
      read_number(d, "shape", f.size.shape);
      read_size(d, "max", f.size.max_bytes, kMaxFlowBytes);
      d.reject_unknown();
    }
    s.short_flows.push_back(f);
  });
  each_table(root, "pcap", s.pcap_replays, [&](Table& t) {
    PcapReplaySpec f;
    read_string(t, "name", f.name);
    const toml::value* v = t.find("file");
    if (!v) t.fail(t.value(), "file", "missing", "file = \"trace.pcap\" (relative to the scenario file)");
    read_string(t, "file", f.file);
    f.file = beside(file, f.file);
    read_time(t, "start", f.start_ns);
    read_number(t, "speed", f.speed);
    if (f.speed <= 0) t.fail(*t.find("speed"), "speed", "must be positive", "e.g. speed = 2 replays twice as fast");
    s.pcap_replays.push_back(f);
  });
  root.reject_unknown();
  try {
    s.validate();
  } catch (const Error& e) {
    throw Error(e.reason(), file, e.hint());
  }
  return s;
}

// The offset of the first byte that is not well-formed UTF-8 (Unicode table 3-7), or npos.
// toml11 3.7 reads past its buffer reporting such a byte inside a string, so none reaches it.
size_t invalid_utf8(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const auto in = [&](size_t i, uint8_t lo, uint8_t hi) { return i < text.size() && byte(i) >= lo && byte(i) <= hi; };
  size_t i = 0;
  while (i < text.size()) {
    const uint8_t b = byte(i);
    size_t len = 0;
    if (b <= 0x7f) len = 1;
    else if (b >= 0xc2 && b <= 0xdf) len = in(i + 1, 0x80, 0xbf) ? 2 : 0;
    else if (b >= 0xe0 && b <= 0xef) {
      const uint8_t lo = b == 0xe0 ? 0xa0 : 0x80, hi = b == 0xed ? 0x9f : 0xbf;
      len = in(i + 1, lo, hi) && in(i + 2, 0x80, 0xbf) ? 3 : 0;
    } else if (b >= 0xf0 && b <= 0xf4) {
      const uint8_t lo = b == 0xf0 ? 0x90 : 0x80, hi = b == 0xf4 ? 0x8f : 0xbf;
      len = in(i + 1, lo, hi) && in(i + 2, 0x80, 0xbf) && in(i + 3, 0x80, 0xbf) ? 4 : 0;
    }
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

// toml11 parses arrays and inline tables recursively: deep enough nesting overflows the stack.
// Counted before parsing, outside strings and comments.
void check_nesting(std::string_view text, const std::string& filename) {
  size_t depth = 0, line = 1, i = 0;
  const auto at = [&](std::string_view s) { return text.substr(i, s.size()) == s; };
  // Skips a string opened by quote (one or three quote characters); basic strings have escapes.
  const auto skip_string = [&](std::string_view quote, bool escapes) {
    const bool multiline = quote.size() == 3;
    i += quote.size();
    while (i < text.size()) {
      if (escapes && text[i] == '\\') {
        if (i + 1 < text.size() && text[i + 1] == '\n') ++line;
        i += 2;
        continue;
      }
      if (at(quote)) {
        i += quote.size();
        return;
      }
      if (text[i] == '\n') {
        if (!multiline) return;  // unterminated: toml11 reports it
        ++line;
      }
      ++i;
    }
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == '"') {
      skip_string(at(R"(""")") ? R"(""")" : R"(")", true);
    } else if (c == '\'') {
      skip_string(at("'''") ? "'''" : "'", false);
    } else {
      if (c == '\n') ++line;
      if (c == '[' || c == '{') {
        if (++depth > kMaxTomlNesting)
          throw Error("values nested more than " + std::to_string(kMaxTomlNesting) + " deep (arrays and inline tables)",
                      filename + ":" + std::to_string(line), "a scenario needs at most 2 levels");
      } else if ((c == ']' || c == '}') && depth > 0) {
        --depth;
      }
      ++i;
    }
  }
}

// What a file without any flow table (and no preset) is missing.
constexpr const char* kTrafficHint =
    "add a [[tcp]], [[udp]], [[ping]], [[short_flows]] or [[pcap]] table, or preset = \"bufferbloat\"";

std::string too_big(uint64_t size) {
  return "the scenario file has " + std::to_string(size) + " bytes, over the limit of " +
         std::to_string(kMaxScenarioFileBytes);
}

}  // namespace

Scenario parse_scenario(std::string_view text, const std::string& filename) {
  if (text.size() > kMaxScenarioFileBytes) throw Error(too_big(text.size()), filename, "a scenario file is a few lines of TOML");
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    throw Error("the scenario file is empty", filename, kTrafficHint);
  if (const size_t bad = invalid_utf8(text); bad != std::string_view::npos) {
    const auto line = std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bad), '\n') + 1;
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", static_cast<uint8_t>(text[bad]));
    throw Error(std::string("not UTF-8: byte ") + hex + " starts no valid character", filename + ":" + std::to_string(line),
                "TOML files are UTF-8");
  }
  check_nesting(text, filename);
  std::istringstream in{std::string(text)};
  toml::value doc;
  try {
    doc = toml::parse(in, filename);
  } catch (const toml::exception& e) {
    // toml11's message spans several lines; its first line says what is wrong.
    std::string what = e.what();
    std::string first = what.substr(0, what.find('\n'));
    if (first.rfind("[error] ", 0) == 0) first = first.substr(8);
    throw Error("TOML syntax error: " + first, filename + ":" + std::to_string(e.location().line()));
  }
  Scenario s = from_toml(doc, filename);
  if (s.tcp.empty() && s.udp.empty() && s.pings.empty() && s.short_flows.empty() && s.pcap_replays.empty())
    throw Error("the scenario has no traffic", filename, kTrafficHint);
  return s;
}

Scenario load_scenario_file(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) throw Error("cannot open the scenario file", path, "check the path");
  // Reading a folder fails midway; a device may never end.
  if (std::filesystem::is_directory(status))
    throw Error("the scenario path is a folder, not a file", path, "name a .toml file");
  if (!std::filesystem::is_regular_file(status))
    throw Error("the scenario path is not a regular file", path, "name a .toml file");
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxScenarioFileBytes) throw Error(too_big(size), path, "a scenario file is a few lines of TOML");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open the scenario file", path, "check the path");
  std::string text(kMaxScenarioFileBytes + 1, '\0');  // one byte more: a file that grew is refused too
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) throw Error("cannot read the scenario file", path);
  text.resize(static_cast<size_t>(in.gcount()));
  return parse_scenario(text, path);
}

}  // namespace bpfq::io::sim
