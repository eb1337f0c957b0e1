// The AF_PACKET port: TPACKET_V2 RX and TX rings in one mapping, with PACKET_VNET_HDR so that a
// frame keeps its GSO and checksum-offload state across bpfq (docs/live.md). Without it veth
// endpoints' TCP checksums, left to offload, arrive wrong and TCP stalls. Ring slots are sized
// for wire frames; large frames (GSO bundles) skip the rings, so that each is copied once, by the
// kernel, instead of twice: on the way in, a ring slot holds a large frame's head and the whole
// frame waits in the socket's queue (PACKET_COPY_THRESH, TP_STATUS_COPY), read by recvmsg straight
// into a pool packet; on the way out, it leaves by sendmsg from the packet on a second, send-only
// socket (the kernel copies a TX ring's pages into its own anyway, skb_copy_ubufs).
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <tuple>

#include <bpfq/error.hpp>
#include <bpfq/io/live/port.hpp>

#include "frame_offload.hpp"

namespace bpfq::io::live {
namespace {

// One frame per ring block, a page: a wire frame with the slot's headers fits.
constexpr uint32_t kRxSlotBytes = 4096;
// Frames above this leave by sendmsg: a syscall costs about what copying this many bytes into
// the ring does, and the ring's batching matters only for small frames.
constexpr uint32_t kDirectSendBytes = 16384;
constexpr uint32_t kTxSlotBytes = 32768;
// Where a TX frame's data starts without PACKET_TX_HAS_OFF: after the aligned tpacket2_hdr.
constexpr uint32_t kTxDataOffset = TPACKET_ALIGN(sizeof(tpacket2_hdr));
static_assert(kTxDataOffset + sizeof(VnetHeader) + kDirectSendBytes <= kTxSlotBytes);
// Receive buffer for large frames waiting in the socket's queue (the kernel doubles it): as much
// as the rings held when each slot could take a 64 KB frame.
constexpr uint64_t kRcvBufPerRxSlot = 64 << 10;

// A send the kernel could not take now (its queue, our socket's buffer, a signal): try later.
bool kernel_busy(int e) { return e == EAGAIN || e == ENOBUFS || e == EINTR; }

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
  tpacket2_hdr* rx_slot(uint32_t i) const { return reinterpret_cast<tpacket2_hdr*>(ring_ + size_t{i} * kRxSlotBytes); }
  tpacket2_hdr* tx_slot(uint32_t i) const {
    return reinterpret_cast<tpacket2_hdr*>(ring_ + size_t{rx_frames_} * kRxSlotBytes + size_t{i} * kTxSlotBytes);
  }
  using Vlan = std::optional<std::pair<uint16_t, uint16_t>>;
  // The large frame a slot marked TP_STATUS_COPY stands for, from the socket's queue into pkt
  // (nullptr: read and dropped, so that the queue stays in step with the ring).
  bool receive_queued(sched::Packet* pkt, const Vlan& vlan);
  [[noreturn]] void fail(const std::string& what, const std::string& hint);

  bool send_direct(const sched::Packet& pkt);

  int fd_ = -1;
  int direct_fd_ = -1;  // send-only (protocol 0: receives nothing), no rings
  uint8_t* ring_ = nullptr;
  size_t ring_bytes_ = 0;
  uint32_t rx_frames_, tx_frames_;
  uint32_t rx_head_ = 0, tx_head_ = 0;
  uint32_t tx_pending_ = 0;  // frames marked for sending since the last flush
};

// Only the constructor fails: what it made so far goes (no destructor runs after a throw).
void PacketPort::fail(const std::string& what, const std::string& hint) {
  const int e = errno;
  if (ring_) munmap(ring_, ring_bytes_);
  for (int fd : {fd_, direct_fd_})
    if (fd >= 0) close(fd);
  throw Error(what + ": " + std::strerror(e), "AF_PACKET port on " + ifname(), hint);
}

PacketPort::PacketPort(const std::string& ifname, int ifindex, const PortOptions& options)
    : Port(ifname, ifindex), rx_frames_(options.rx_frames), tx_frames_(options.tx_frames) {
  // Protocol 0: no frame is queued before bind() names the interface.
  fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) fail("socket", "bpfq live needs root (CAP_NET_RAW)");
  direct_fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (direct_fd_ < 0) fail("socket", "bpfq live needs root (CAP_NET_RAW)");
  auto set = [&](int fd, int option, int value, const char* name) {
    if (setsockopt(fd, SOL_PACKET, option, &value, sizeof value) != 0)
      fail(std::string("setsockopt ") + name, "a kernel with TPACKET_V2 and PACKET_VNET_HDR (Linux 3.14+)");
  };
  set(fd_, PACKET_VERSION, TPACKET_V2, "PACKET_VERSION");
  for (int fd : {fd_, direct_fd_}) {
    set(fd, PACKET_VNET_HDR, 1, "PACKET_VNET_HDR");
    set(fd, PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS");  // no kernel qdisc under ours
  }
  set(fd_, PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING");  // not our own transmissions
  set(fd_, PACKET_COPY_THRESH, 1, "PACKET_COPY_THRESH");  // a frame larger than a slot: also queued whole
  // Else the socket's default buffer; a frame that finds it full arrives cut and is counted.
  const int rcvbuf = static_cast<int>(std::min<uint64_t>(uint64_t{rx_frames_} * kRcvBufPerRxSlot, INT_MAX / 2));
  if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  for (auto [option, frames, bytes] : {std::tuple{PACKET_RX_RING, rx_frames_, kRxSlotBytes},
                                       std::tuple{PACKET_TX_RING, tx_frames_, kTxSlotBytes}}) {
    tpacket_req req{bytes, frames, bytes, frames};
    if (setsockopt(fd_, SOL_PACKET, option, &req, sizeof req) != 0)
      fail(option == PACKET_RX_RING ? "PACKET_RX_RING" : "PACKET_TX_RING", "fewer ring frames, or more memory");
  }
  const size_t ring_bytes = size_t{rx_frames_} * kRxSlotBytes + size_t{tx_frames_} * kTxSlotBytes;
  void* ring = mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (ring == MAP_FAILED) fail("mmap of the rings", "more memory");
  ring_ = static_cast<uint8_t*>(ring);
  ring_bytes_ = ring_bytes;
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  addr.sll_ifindex = ifindex;
  packet_mreq promisc{};
  promisc.mr_ifindex = ifindex;
  promisc.mr_type = PACKET_MR_PROMISC;  // frames for any MAC address: bpfq is a bump in the wire
  sockaddr_ll direct_addr = addr;
  direct_addr.sll_protocol = 0;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      setsockopt(fd_, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &promisc, sizeof promisc) != 0 ||
      bind(direct_fd_, reinterpret_cast<sockaddr*>(&direct_addr), sizeof direct_addr) != 0)
    fail("bind", "is the interface up?");
}

PacketPort::~PacketPort() {
  munmap(ring_, ring_bytes_);
  close(fd_);
  close(direct_fd_);
}

size_t PacketPort::receive(sched::PacketPool& pool, size_t max, uint64_t now_ns,
                           const std::function<void(sched::Packet*)>& on_packet) {
  size_t n = 0;
  for (; n < max; ++n) {
    tpacket2_hdr* h = rx_slot(rx_head_);
    const uint32_t status = load_status(h);
    if (!(status & TP_STATUS_USER)) break;
    rx_head_ = (rx_head_ + 1) % rx_frames_;
    // The kernel took the VLAN tag out (rx-vlan offload); the frame on the wire had it.
    const uint16_t tpid = (status & TP_STATUS_VLAN_TPID_VALID) && h->tp_vlan_tpid ? h->tp_vlan_tpid : ETH_P_8021Q;
    const Vlan vlan = status & TP_STATUS_VLAN_VALID ? Vlan{std::pair{tpid, h->tp_vlan_tci}} : std::nullopt;
    if (!(status & TP_STATUS_COPY) && h->tp_snaplen < h->tp_len) {  // the queue had no room for it whole
      store_status(h, TP_STATUS_KERNEL);
      ++stats_.rx_kernel_drops;
      continue;
    }
    sched::Packet* pkt = pool.alloc();
    bool whole = false;
    if (status & TP_STATUS_COPY) {
      whole = receive_queued(pkt, vlan);
    } else if (pkt) {
      const uint8_t* frame = reinterpret_cast<const uint8_t*>(h) + h->tp_mac;
      VnetHeader vnet;
      std::memcpy(&vnet, frame - sizeof vnet, sizeof vnet);
      whole = fill_packet(*pkt, {frame, h->tp_snaplen}, vnet, vlan);
    }
    store_status(h, TP_STATUS_KERNEL);
    if (!pkt) {
      ++stats_.rx_no_buffer;
      continue;
    }
    if (!whole) {
      ++stats_.rx_truncated;
      sched::PacketPool::release(pkt);
      continue;
    }
    pkt->created_ns = now_ns;
    ++stats_.rx_packets;
    stats_.rx_bytes += pkt->len();
    on_packet(pkt);
  }
  return n;
}

bool PacketPort::receive_queued(sched::Packet* pkt, const Vlan& vlan) {
  VnetHeader vnet;
  const uint32_t at = vlan ? kVlanBytes : 0;
  iovec iov[2] = {{&vnet, sizeof vnet}, {pkt ? pkt->data() + at : nullptr, pkt ? pkt->max_len() - at : 0}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  const ssize_t got = recvmsg(fd_, &msg, MSG_DONTWAIT);
  if (!pkt || got < static_cast<ssize_t>(sizeof vnet) || (msg.msg_flags & MSG_TRUNC)) return false;
  return finish_frame(*pkt, static_cast<uint32_t>(got - sizeof vnet), vnet, vlan);
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
  if (pkt.len() > kDirectSendBytes) return send_direct(pkt);
  if (!tx_room()) return false;
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

bool PacketPort::send_direct(const sched::Packet& pkt) {
  if (!flush()) return false;  // what the ring holds leaves first: frames keep their order
  VnetHeader vnet = vnet_header(pkt);
  iovec iov[2] = {{&vnet, sizeof vnet}, {const_cast<uint8_t*>(pkt.data()), pkt.len()}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  if (sendmsg(direct_fd_, &msg, MSG_DONTWAIT) < 0) {
    if (kernel_busy(errno)) return false;  // the caller keeps it
    ++stats_.tx_errors;  // refused (bad offload state, too large): counted, as a refused ring frame
  }
  ++stats_.tx_packets;
  stats_.tx_bytes += pkt.len();
  return true;
}

bool PacketPort::flush() {
  if (tx_pending_ == 0) return true;
  // Sends every frame marked SEND_REQUEST; EAGAIN/ENOBUFS leave them marked for the next kick.
  if (::send(fd_, nullptr, 0, MSG_DONTWAIT) < 0 && kernel_busy(errno)) return false;
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
