#include "map_dump.hpp"

#include <algorithm>

#include <fmt/core.h>

#include <bpfq/error.hpp>
#include <bpfq/maps/map.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/struct_ops_qdisc.hpp>
#include <bpfq/tc/tc_line.hpp>

namespace bpfq::cli {
namespace {

// Elements listed per map; a larger map says how many it left out. for_each, not
// get_next_key, walks the map: a hash map's get_next_key searches for the key every time.
constexpr size_t kMaxElements = 1024;
// Value bytes shown per element: a global data map (.bss) can hold megabytes.
constexpr uint32_t kMaxValueBytes = 4096;

bool lists_elements(uint32_t type) {
  using maps::MapType;
  return type == static_cast<uint32_t>(MapType::Hash) || type == static_cast<uint32_t>(MapType::Array) ||
         type == static_cast<uint32_t>(MapType::PercpuArray) || type == static_cast<uint32_t>(MapType::LruHash);
}

// "01 00 01 00": bytes as bpftool prints them.
std::string hex(const uint8_t* bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(n ? n * 3 - 1 : 0, ' ');
  for (size_t i = 0; i < n; ++i) {
    s[3 * i] = kDigits[bytes[i] >> 4];
    s[3 * i + 1] = kDigits[bytes[i] & 15];
  }
  return s;
}

nlohmann::json map_json(maps::Map& map) {
  const maps::MapSpec& spec = map.spec();
  nlohmann::json m = {{"name", spec.name},           {"type", maps::map_type_name(spec.type)},
                      {"key_size", spec.key_size},   {"value_size", spec.value_size},
                      {"max_entries", spec.max_entries}, {"count", map.size()}};
  if (!lists_elements(spec.type)) return m;
  nlohmann::json elements = nlohmann::json::array();
  map.for_each([&](const void* key, void* value) {
    if (elements.size() == kMaxElements) return 1;
    const uint32_t shown = std::min(spec.value_size, kMaxValueBytes);
    std::vector<uint8_t> v(static_cast<const uint8_t*>(value), static_cast<const uint8_t*>(value) + shown);
    for (uint32_t at : spec.kptr_offsets)  // no addresses leave bpfq
      if (at + 8 <= shown) std::fill_n(v.begin() + at, 8, 0);
    nlohmann::json e = {{"key", hex(static_cast<const uint8_t*>(key), spec.key_size)}, {"value", hex(v.data(), shown)}};
    if (shown < spec.value_size) e["value_bytes_left_out"] = spec.value_size - shown;
    elements.push_back(std::move(e));
    return 0;
  });
  if (map.size() > elements.size()) m["elements_left_out"] = map.size() - elements.size();
  m["elements"] = std::move(elements);
  return m;
}

}  // namespace

MapDumpCommand parse_map_dump(const std::vector<std::string>& words, const std::string& where) {
  tc::TcLine line(words, where);
  line.expect("map");
  line.expect("dump");
  line.expect("dev");
  MapDumpCommand cmd{line.take("a device name"), std::nullopt};
  if (line.accept("handle")) cmd.handle = line.take_handle("a qdisc handle (1:)");
  line.expect_end("handle H: or the end of the line");
  return cmd;
}

nlohmann::json map_dump_json(const tc::BuiltSetup& built, const MapDumpCommand& cmd) {
  nlohmann::json out = nlohmann::json::array();
  const tc::SetupSnapshot snapshot = built.snapshot();
  bool dev_known = false;
  for (const tc::QdiscRow& row : snapshot.qdiscs) {
    if (row.dev != cmd.dev) continue;
    dev_known = true;
    if (cmd.handle && row.handle != *cmd.handle) continue;
    sched::Qdisc* qdisc = built.find_qdisc(row.dev, row.handle);
    runtime::Object* object = nullptr;
    if (auto* bpf = dynamic_cast<sched::BpfQdisc*>(qdisc)) object = &bpf->object();
    if (auto* ops = dynamic_cast<sched::StructOpsQdisc*>(qdisc)) object = &ops->object();
    if (!object) continue;
    nlohmann::json q = {{"dev", row.dev}, {"handle", row.handle.to_string()}, {"kind", row.kind}};
    q["maps"] = nlohmann::json::array();
    for (const maps::MapSpec& spec : object->spec().maps) q["maps"].push_back(map_json(object->map(spec.name)));
    out.push_back(std::move(q));
  }
  if (!dev_known) throw Error("cannot find device " + cmd.dev, "map dump", "devices come from `link add` or a qdisc line");
  if (cmd.handle && out.empty())
    throw Error("no bpf qdisc " + cmd.handle->to_string() + " on " + cmd.dev, "map dump", "qdisc show dev " + cmd.dev + " lists them");
  return out;
}

std::string map_dump_text(const nlohmann::json& dump) {
  std::string s;
  for (const auto& q : dump) {
    s += fmt::format("qdisc {} {} dev {}\n", q["kind"].get<std::string>(), q["handle"].get<std::string>(),
                     q["dev"].get<std::string>());
    for (const auto& m : q["maps"]) {
      s += fmt::format(" map {} {} key {}B value {}B max_entries {}: {} elements\n", m["name"].get<std::string>(),
                       m["type"].get<std::string>(), m["key_size"].get<uint32_t>(), m["value_size"].get<uint32_t>(),
                       m["max_entries"].get<uint32_t>(), m["count"].get<uint64_t>());
      if (!m.contains("elements")) continue;
      for (const auto& e : m["elements"])
        s += fmt::format("  key: {}  value: {}{}\n", e["key"].get<std::string>(), e["value"].get<std::string>(),
                         e.contains("value_bytes_left_out")
                             ? fmt::format(" … ({} bytes more)", e["value_bytes_left_out"].get<uint32_t>())
                             : std::string());
      if (m.contains("elements_left_out")) s += fmt::format("  … {} more\n", m["elements_left_out"].get<uint64_t>());
    }
  }
  return s;
}

}  // namespace bpfq::cli
