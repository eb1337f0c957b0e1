#pragma once
// A port: one real network interface that the live datapath receives frames from and sends
// frames to (docs/live.md). AF_PACKET ("packet"): TPACKET_V2 RX and TX rings with
// PACKET_VNET_HDR, so GSO bundles and partial checksums cross intact (the kernel segments and
// checksums on the way out) and endpoints need no configuration. AF_XDP ("xdp"): an XDP socket
// in copy mode on each RX queue, fed by bpfq's own XDP program, attached through a bpf_link
// (gone when bpfq exits, even killed); plain frames only, so endpoints must not leave checksums
// to offload.
//
// Every frame is accounted: received frames become pool packets or are counted in a drop
// counter; sent frames are handed to the kernel (send() false: no room, the caller keeps it).
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <bpfq/sched/packet.hpp>
#include <bpfq/sched/packet_pool.hpp>

namespace bpfq::io::live {

enum class PortKind : uint8_t { Auto, Xdp, Packet };
const char* port_kind_name(PortKind kind);
// "auto", "xdp", "packet"; bpfq::Error otherwise.
PortKind parse_port_kind(const std::string& text);

struct PortStats {
  uint64_t rx_packets = 0;      // frames turned into packets
  uint64_t rx_bytes = 0;
  uint64_t rx_no_buffer = 0;    // frames dropped: the packet pool was exhausted
  uint64_t rx_truncated = 0;    // frames dropped: larger than a packet buffer or a UMEM frame
  // Frames the kernel dropped or cut before bpfq saw them: its RX ring (or, for AF_PACKET's large
  // frames, its receive queue) was full.
  uint64_t rx_kernel_drops = 0;
  uint64_t tx_packets = 0;      // frames handed to the kernel to send
  uint64_t tx_bytes = 0;
  uint64_t tx_errors = 0;       // frames the kernel refused to send (bad format)
  std::vector<uint64_t> rx_queue_packets;  // AF_XDP: rx_packets by RX queue (one entry a queue)
};

class Port {
 public:
  virtual ~Port() = default;

  const std::string& ifname() const { return ifname_; }
  int ifindex() const { return ifindex_; }
  virtual PortKind kind() const = 0;
  // Poll these: POLLIN on any when frames arrived, POLLOUT on the first when TX room came back.
  virtual std::span<const int> fds() const = 0;

  // Moves up to max received frames into packets from pool (created_ns = now_ns) and hands each
  // to on_packet, which takes its reference. Returns the number of frames consumed (packets
  // handed over plus frames dropped and counted).
  virtual size_t receive(sched::PacketPool& pool, size_t max, uint64_t now_ns,
                         const std::function<void(sched::Packet*)>& on_packet) = 0;
  // A TX slot is free now.
  virtual bool tx_room() = 0;
  // Hands pkt to the kernel to send (copied into the TX ring; AF_PACKET sends a large frame at
  // once from pkt); false (nothing done) without room. The caller keeps pkt.
  virtual bool send(const sched::Packet& pkt) = 0;
  // Makes the kernel send what send() queued (one syscall per batch); false if the kernel was
  // busy and frames wait for the next flush.
  virtual bool flush() = 0;
  // Refreshes kernel-side counters (rx_kernel_drops).
  virtual void update_stats() {}

  const PortStats& stats() const { return stats_; }

 protected:
  Port(std::string ifname, int ifindex) : ifname_(std::move(ifname)), ifindex_(ifindex) {}
  PortStats stats_;

 private:
  std::string ifname_;
  int ifindex_;
};

struct PortOptions {
  PortKind kind = PortKind::Auto;
  uint32_t rx_frames = 256;  // RX ring slots
  uint32_t tx_frames = 64;   // TX ring slots
  // AF_XDP: bytes of a UMEM frame, 2048 or 4096 (a page). The kernel keeps 256 bytes of
  // headroom in it, so received frames up to 3840 bytes fit (1792 with 2048).
  uint32_t xdp_frame_bytes = 4096;
};

// Opens ifname (Auto: AF_PACKET, the faster for TCP: it keeps GSO bundles whole). bpfq::Error (naming the interface, the reason and a hint) if
// it cannot.
std::unique_ptr<Port> open_port(const std::string& ifname, const PortOptions& options);
std::unique_ptr<Port> open_packet_port(const std::string& ifname, const PortOptions& options);
// The index of interface ifname; bpfq::Error if there is none.
int interface_index(const std::string& ifname);
// AF_XDP on every RX queue of the interface (a socket each); it sends through queue 0's.
std::unique_ptr<Port> open_xdp_port(const std::string& ifname, const PortOptions& options);

// The largest frame a port hands over: a 64 KB GSO bundle with its Ethernet and VLAN header.
constexpr uint32_t kMaxFrameBytes = 65536 + 64;

}  // namespace bpfq::io::live
