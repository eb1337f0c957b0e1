#include <bpfq/io/live/port.hpp>

#include <net/if.h>

#include <bpfq/error.hpp>

namespace bpfq::io::live {

const char* port_kind_name(PortKind kind) {
  switch (kind) {
    case PortKind::Auto: return "auto";
    case PortKind::Xdp: return "xdp";
    case PortKind::Packet: return "packet";
  }
  return "?";
}

PortKind parse_port_kind(const std::string& text) {
  for (PortKind k : {PortKind::Auto, PortKind::Xdp, PortKind::Packet})
    if (text == port_kind_name(k)) return k;
  throw Error("unknown port type '" + text + "'", "--port", "auto, xdp or packet");
}

int interface_index(const std::string& ifname) {
  const int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (ifindex == 0) throw Error("no interface " + ifname, "bpfq live", "ip link show lists the interfaces");
  return ifindex;
}

std::unique_ptr<Port> open_port(const std::string& ifname, const PortOptions& options) {
  if (options.kind == PortKind::Xdp) return open_xdp_port(ifname, options);
  return open_packet_port(ifname, options);
}

}  // namespace bpfq::io::live
