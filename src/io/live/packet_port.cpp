// The AF_PACKET port: TPACKET_V2 RX and TX rings in one mapping, with PACKET_VNET_HDR so that a
// frame keeps its GSO and checksum-offload state across bpfq (docs/live.md). Without it veth
// endpoints' TCP checksums, left to offload, arrive wrong and TCP stalls.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <bpfq/error.hpp>
#include <bpfq/io/live/port.hpp>

#include "frame_offload.hpp"

namespace bpfq::io::live {
namespace {

// One frame per ring block: a 64 KB GSO bundle with its headers fits, and a 128 KB block is a
// power-of-two allocation for the kernel.
constexpr uint32_t kSlotBytes = 1u << 17;
// Where a TX frame's data starts without PACKET_TX_HAS_OFF: after the aligned tpacket2_hdr.
constexpr uint32_t kTxDataOffset = TPACKET_ALIGN(sizeof(tpacket2_hdr));
static_assert(kTxDataOffset + sizeof(VnetHeader) + kMaxFrameBytes <= kSlotBytes);

uint32_t load_status(const tpacket2_hdr* h) { return __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE); }
void store_status(tpacket2_hdr* h, uint32_t status) { __atomic_store_n(&h->tp_status, status, __ATOMIC_RELEASE); }

class PacketPort final : public Port {
 public:
  PacketPort(const std::string& ifname, int ifindex, const PortOptions& options);
  ~PacketPort() override;

  PortKind kind() const override { return PortKind::Packet; }
  std::span<const int> fds() const override { return {&fd_, 1}; }
  size_t receive(sched::PacketPool& pool, size_t max, uint64_t now_ns,
                 const std::function<void(sched::Packet*)>& on_packet) override;
  bool tx_room() override;
  bool send(const sched::Packet& pkt) override;
  bool flush() override;
  void update_stats() override;

 private:
  tpacket2_hdr* rx_slot(uint32_t i) const { return reinterpret_cast<tpacket2_hdr*>(ring_ + size_t{i} * kSlotBytes); }
  tpacket2_hdr* tx_slot(uint32_t i) const {
    return reinterpret_cast<tpacket2_hdr*>(ring_ + size_t{rx_frames_ + i} * kSlotBytes);
  }
  [[noreturn]] void fail(const std::string& what, const std::string& hint) const;

  int fd_ = -1;
  uint8_t* ring_ = nullptr;
  size_t ring_bytes_ = 0;
  uint32_t rx_frames_, tx_frames_;
  uint32_t rx_head_ = 0, tx_head_ = 0;
  uint32_t tx_pending_ = 0;  // frames marked for sending since the last flush
};

void PacketPort::fail(const std::string& what, const std::string& hint) const {
  throw Error(what + ": " + std::strerror(errno), "AF_PACKET port on " + ifname(), hint);
}

PacketPort::PacketPort(const std::string& ifname, int ifindex, const PortOptions& options)
    : Port(ifname, ifindex), rx_frames_(options.rx_frames), tx_frames_(options.tx_frames) {
  // Protocol 0: no frame is queued before bind() names the interface.
  fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) fail("socket", "bpfq live needs root (CAP_NET_RAW)");
  auto set = [&](int option, int value, const char* name) {
    if (setsockopt(fd_, SOL_PACKET, option, &value, sizeof value) != 0) {
      const int e = errno;
      close(fd_);
      errno = e;
      fail(std::string("setsockopt ") + name, "a kernel with TPACKET_V2 and PACKET_VNET_HDR (Linux 3.14+)");
    }
  };
  set(PACKET_VERSION, TPACKET_V2, "PACKET_VERSION");
  set(PACKET_VNET_HDR, 1, "PACKET_VNET_HDR");
  set(PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING");  // not our own transmissions
  set(PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS");        // no kernel qdisc under ours
  for (auto [option, frames] : {std::pair{PACKET_RX_RING, rx_frames_}, std::pair{PACKET_TX_RING, tx_frames_}}) {
    tpacket_req req{kSlotBytes, frames, kSlotBytes, frames};
    if (setsockopt(fd_, SOL_PACKET, option, &req, sizeof req) != 0) {
      const int e = errno;
      close(fd_);
      errno = e;
      fail(option == PACKET_RX_RING ? "PACKET_RX_RING" : "PACKET_TX_RING", "fewer ring frames, or more memory");
    }
  }
  ring_bytes_ = size_t{rx_frames_ + tx_frames_} * kSlotBytes;
  void* ring = mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (ring == MAP_FAILED) {
    const int e = errno;
    close(fd_);
    errno = e;
    fail("mmap of the rings", "more memory");
  }
  ring_ = static_cast<uint8_t*>(ring);
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  addr.sll_ifindex = ifindex;
  packet_mreq promisc{};
  promisc.mr_ifindex = ifindex;
  promisc.mr_type = PACKET_MR_PROMISC;  // frames for any MAC address: bpfq is a bump in the wire
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      setsockopt(fd_, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &promisc, sizeof promisc) != 0) {
    const int e = errno;
    munmap(ring_, ring_bytes_);
    close(fd_);
    errno = e;
    fail("bind", "is the interface up?");
  }
}

PacketPort::~PacketPort() {
  munmap(ring_, ring_bytes_);
  close(fd_);
}

size_t PacketPort::receive(sched::PacketPool& pool, size_t max, uint64_t now_ns,
                           const std::function<void(sched::Packet*)>& on_packet) {
  size_t n = 0;
  for (; n < max; ++n) {
    tpacket2_hdr* h = rx_slot(rx_head_);
    const uint32_t status = load_status(h);
    if (!(status & TP_STATUS_USER)) break;
    rx_head_ = (rx_head_ + 1) % rx_frames_;
    const uint8_t* frame = reinterpret_cast<const uint8_t*>(h) + h->tp_mac;
    VnetHeader vnet;
    std::memcpy(&vnet, frame - sizeof vnet, sizeof vnet);
    sched::Packet* pkt = nullptr;
    if ((status & TP_STATUS_COPY) || h->tp_snaplen < h->tp_len) {
      ++stats_.rx_truncated;
    } else if (!(pkt = pool.alloc())) {
      ++stats_.rx_no_buffer;
    } else {
      // The kernel took the VLAN tag out (rx-vlan offload); the frame on the wire had it.
      const bool vlan = status & TP_STATUS_VLAN_VALID;
      const uint16_t tpid = (status & TP_STATUS_VLAN_TPID_VALID) && h->tp_vlan_tpid ? h->tp_vlan_tpid : ETH_P_8021Q;
      if (!fill_packet(*pkt, {frame, h->tp_snaplen}, vnet, vlan ? std::optional{std::pair{tpid, h->tp_vlan_tci}} : std::nullopt)) {
        ++stats_.rx_truncated;
        sched::PacketPool::release(pkt);
        pkt = nullptr;
      }
    }
    store_status(h, TP_STATUS_KERNEL);
    if (!pkt) continue;
    pkt->created_ns = now_ns;
    ++stats_.rx_packets;
    stats_.rx_bytes += pkt->len();
    on_packet(pkt);
  }
  return n;
}

bool PacketPort::tx_room() {
  tpacket2_hdr* h = tx_slot(tx_head_);
  const uint32_t status = load_status(h);
  if (status == TP_STATUS_WRONG_FORMAT) {  // the kernel refused an earlier frame in this slot
    ++stats_.tx_errors;
    store_status(h, TP_STATUS_AVAILABLE);
    return true;
  }
  return status == TP_STATUS_AVAILABLE;
}

bool PacketPort::send(const sched::Packet& pkt) {
  if (!tx_room() || pkt.len() > kMaxFrameBytes) return false;
  tpacket2_hdr* h = tx_slot(tx_head_);
  uint8_t* data = reinterpret_cast<uint8_t*>(h) + kTxDataOffset;
  const VnetHeader vnet = vnet_header(pkt);
  std::memcpy(data, &vnet, sizeof vnet);
  std::memcpy(data + sizeof vnet, pkt.data(), pkt.len());
  h->tp_len = static_cast<uint32_t>(sizeof vnet + pkt.len());
  store_status(h, TP_STATUS_SEND_REQUEST);
  tx_head_ = (tx_head_ + 1) % tx_frames_;
  ++tx_pending_;
  ++stats_.tx_packets;
  stats_.tx_bytes += pkt.len();
  return true;
}

bool PacketPort::flush() {
  if (tx_pending_ == 0) return true;
  // Sends every frame marked SEND_REQUEST; EAGAIN/ENOBUFS leave them marked for the next kick.
  if (::send(fd_, nullptr, 0, MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == ENOBUFS || errno == EINTR))
    return false;
  tx_pending_ = 0;
  return true;
}

void PacketPort::update_stats() {
  tpacket_stats s{};
  socklen_t len = sizeof s;
  if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &s, &len) == 0) stats_.rx_kernel_drops += s.tp_drops;  // reset by the read
}

}  // namespace

std::unique_ptr<Port> open_packet_port(const std::string& ifname, const PortOptions& options) {
  return std::make_unique<PacketPort>(ifname, interface_index(ifname), options);
}

}  // namespace bpfq::io::live
