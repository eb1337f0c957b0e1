// The AF_XDP port (docs/live.md): an XDP socket in copy mode on every RX queue of the
// interface, fed by bpfq's own five-instruction XDP program that redirects each frame into its
// queue's socket through an XSKMAP. The program is attached through a bpf_link
// (BPF_LINK_CREATE), which the kernel removes when its last fd closes: when bpfq exits, even by
// SIGKILL, the interface is left as it was and no traffic is black-holed.
//
// Each queue's socket has a UMEM of its own holding its RX frames (all in the fill ring, or in
// the kernel's hands, or on the RX ring); queue 0's also holds the TX frames (free, or on the
// TX ring until the completion ring returns them): bpfq sends through queue 0's socket only.
// A received frame is copied into a pool packet and its UMEM frame goes straight back to the
// fill ring, so the fill ring never runs dry while bpfq keeps up.
//
// AF_XDP carries plain frames: no GSO bundles and no partial checksums. Endpoints that leave
// checksums to offload (veth does) need `ethtool -K IF tx off`, and an interface that
// aggregates received frames (GRO/LRO on a real NIC) needs it off, or larger frames are
// dropped by the kernel and counted (rx_truncated).
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/xsk.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/io/live/port.hpp>

#include "frame_offload.hpp"

namespace bpfq::io::live {
namespace {

// One sendto() makes the kernel send at most 32 TX descriptors (and answer EAGAIN if more
// wait): a flush kicks until the TX ring is empty, at most this many times.
constexpr int kMaxKicks = 64;

// An fd closed when its owner goes.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

// The UMEM's memory, page-aligned as the kernel requires.
struct Mapping {
  void* addr = MAP_FAILED;
  size_t bytes = 0;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  explicit Mapping(size_t n) : addr(mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)), bytes(n) {}
  ~Mapping() {
    if (addr != MAP_FAILED) munmap(addr, bytes);
  }
};

struct UmemDeleter {
  void operator()(xsk_umem* u) const { xsk_umem__delete(u); }
};
struct SocketDeleter {
  void operator()(xsk_socket* s) const { xsk_socket__delete(s); }
};

// The XDP program: `return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);`. A queue
// without a socket (none: every RX queue has one) would pass its frames to the stack.
std::array<bpf_insn, 6> redirect_program(int xsks_map_fd) {
  std::array<bpf_insn, 6> p{};
  p[0] = {BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, static_cast<int16_t>(offsetof(xdp_md, rx_queue_index)), 0};
  p[1] = {BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, xsks_map_fd};  // ld_imm64: two slots
  p[2] = {0, 0, 0, 0, 0};
  p[3] = {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, XDP_PASS};  // the action when the slot is empty
  p[4] = {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect_map};
  p[5] = {BPF_JMP | BPF_EXIT, 0, 0, 0, 0};
  return p;
}

// A socket per RX queue: a NIC may have one per core. Each UMEM pins its frames in memory.
constexpr uint32_t kMaxQueues = 256;

// RX queues of the interface (ETHTOOL_GCHANNELS: RX-only channels plus combined ones); 1 where
// the driver does not say.
uint32_t rx_queues(const std::string& ifname) {
  Fd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ethtool_channels channels{};
  channels.cmd = ETHTOOL_GCHANNELS;
  ifreq req{};
  std::strncpy(req.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  req.ifr_data = reinterpret_cast<char*>(&channels);
  if (sock.fd < 0 || ioctl(sock.fd, SIOCETHTOOL, &req) != 0) return 1;
  return std::max(channels.rx_count + channels.combined_count, 1u);
}

// One RX queue's XDP socket and the UMEM it receives into. Queue 0's UMEM holds the TX frames
// too, and its socket the TX ring. libxdp keeps pointers to the rings: a Queue never moves.
struct Queue {
  Queue(uint32_t id, size_t bytes) : id(id), area(bytes) {}
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  uint32_t id;
  // Declared in the order they are made: destroyed backwards, the UMEM's memory last.
  Mapping area;
  xsk_ring_prod fill{};
  xsk_ring_cons comp{};
  std::unique_ptr<xsk_umem, UmemDeleter> umem;
  xsk_ring_cons rx{};
  xsk_ring_prod tx{};
  std::unique_ptr<xsk_socket, SocketDeleter> xsk;
  xdp_statistics seen{};  // the socket's counters at the last update_stats()

  int fd() const { return xsk_socket__fd(xsk.get()); }
  uint8_t* frame(uint64_t addr) const { return static_cast<uint8_t*>(xsk_umem__get_data(area.addr, addr)); }
};

class XdpPort final : public Port {
 public:
  XdpPort(const std::string& ifname, int ifindex, const PortOptions& options);
  ~XdpPort() override = default;

  PortKind kind() const override { return PortKind::Xdp; }
  std::span<const int> fds() const override { return fds_; }
  size_t receive(sched::PacketPool& pool, size_t max, uint64_t now_ns,
                 const std::function<void(sched::Packet*)>& on_packet) override;
  bool tx_room() override;
  bool send(const sched::Packet& pkt) override;
  bool flush() override;
  void update_stats() override;

 private:
  [[noreturn]] void fail(const std::string& what, int err, const std::string& hint) const {
    throw Error(what + ": " + std::strerror(err), "AF_XDP port on " + ifname(), hint);
  }
  void open_queue(Queue& q, const std::string& ifname);
  size_t receive_queue(Queue& q, sched::PacketPool& pool, size_t max, uint64_t now_ns,
                       const std::function<void(sched::Packet*)>& on_packet);
  Queue& txq() const { return *queues_.front(); }
  void reap_completions();
  bool tx_ring_empty() const { return __atomic_load_n(txq().tx.consumer, __ATOMIC_ACQUIRE) == txq().tx.cached_prod; }

  uint32_t frame_bytes_;
  uint32_t rx_frames_, tx_frames_;
  // Declared in the order they are made: destroyed backwards, the link (the program leaves the
  // interface) first and the sockets last, also when the constructor throws half-way.
  Fd promisc_;
  std::vector<std::unique_ptr<Queue>> queues_;
  std::vector<int> fds_;  // the queues' sockets, queue 0's (the TX ring's) first
  Fd map_, prog_, link_;
  std::vector<uint64_t> tx_free_;  // addresses in queue 0's UMEM of TX frames the kernel does not hold
  size_t next_queue_ = 0;          // the queue a receive() starts with: each gets its turn first
};

XdpPort::XdpPort(const std::string& ifname, int ifindex, const PortOptions& options)
    : Port(ifname, ifindex),
      frame_bytes_(options.xdp_frame_bytes),
      rx_frames_(std::bit_ceil(std::max(options.rx_frames, 64u))),  // ring sizes are powers of two
      tx_frames_(std::bit_ceil(std::max(options.tx_frames, 64u))) {
  if (frame_bytes_ != 2048 && frame_bytes_ != 4096)
    throw Error("an AF_XDP frame is 2048 or 4096 bytes, not " + std::to_string(frame_bytes_), "AF_XDP port on " + ifname,
                "4096, the default");
  const uint32_t queues = rx_queues(ifname);
  if (queues > kMaxQueues)
    throw Error(ifname + " has " + std::to_string(queues) + " RX queues; an AF_XDP port reads at most " +
                    std::to_string(kMaxQueues),
                "AF_XDP port on " + ifname, "ethtool -L " + ifname + " combined " + std::to_string(kMaxQueues) + ", or --port packet");
  // Frames for any MAC address (a real NIC filters them otherwise): a packet socket's
  // membership, which the kernel drops with the socket, also when bpfq is killed.
  promisc_.fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  packet_mreq promisc{};
  promisc.mr_ifindex = ifindex;
  promisc.mr_type = PACKET_MR_PROMISC;
  if (promisc_.fd < 0 || setsockopt(promisc_.fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &promisc, sizeof promisc) != 0)
    fail("promiscuous mode", errno, "bpfq live needs root (CAP_NET_RAW)");

  for (uint32_t id = 0; id < queues; ++id) {
    const uint32_t frames = id == 0 ? rx_frames_ + tx_frames_ : rx_frames_;
    queues_.push_back(std::make_unique<Queue>(id, size_t{frames} * frame_bytes_));
    open_queue(*queues_.back(), ifname);
    fds_.push_back(queues_.back()->fd());
  }
  for (uint32_t i = 0; i < tx_frames_; ++i) tx_free_.push_back(uint64_t{rx_frames_ + i} * frame_bytes_);

  map_.fd = bpf_map_create(BPF_MAP_TYPE_XSKMAP, "bpfq_xsks", sizeof(uint32_t), sizeof(int), queues, nullptr);
  if (map_.fd < 0) fail("XSKMAP", -map_.fd, "bpfq live needs root (CAP_BPF, CAP_NET_ADMIN)");
  for (const auto& q : queues_)
    if (int e = xsk_socket__update_xskmap(q->xsk.get(), map_.fd)) fail("XSKMAP insert", -e, "this is a bug in bpfq");
  const std::array<bpf_insn, 6> program = redirect_program(map_.fd);
  prog_.fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "bpfq_xsk", "GPL", program.data(), program.size(), nullptr);
  if (prog_.fd < 0) fail("loading the XDP program", -prog_.fd, "bpfq live needs root (CAP_BPF, CAP_NET_ADMIN)");
  // Flags 0: the driver's (native) XDP where it has one, as on veth; generic XDP otherwise.
  link_.fd = bpf_link_create(prog_.fd, ifindex, BPF_XDP, nullptr);
  if (link_.fd < 0) {
    const int e = -link_.fd;
    fail("attaching the XDP program", e,
         e == EBUSY || e == EEXIST ? "another XDP program is on the interface (ip -d link show " + ifname +
                                         "; ip link set " + ifname + " xdp off), or use --port packet"
         : e == ERANGE || e == EINVAL ? "the MTU of " + ifname + " or of its veth peer may be too large for XDP (veth: about 3.5 KB at most)"
                                      : "a kernel with XDP links (Linux 5.9+), or --port packet");
  }
}

// The queue's UMEM and socket, every RX frame in the fill ring. Only queue 0's socket has a TX ring.
void XdpPort::open_queue(Queue& q, const std::string& ifname) {
  if (q.area.addr == MAP_FAILED) fail("mmap of the UMEM", errno, "more memory");
  const bool sends = q.id == 0;
  const xsk_umem_config umem_config{rx_frames_, sends ? tx_frames_ : 64u, frame_bytes_, 0, 0};
  xsk_umem* umem = nullptr;
  if (int e = xsk_umem__create(&umem, q.area.addr, q.area.bytes, &q.fill, &q.comp, &umem_config))
    fail("UMEM", -e,
         -e == EAFNOSUPPORT ? "the kernel has no AF_XDP (CONFIG_XDP_SOCKETS): use --port packet"
         : -e == EPERM || -e == ENOBUFS ? "bpfq live needs root (CAP_NET_ADMIN, CAP_IPC_LOCK for the UMEM)"
                                        : "a kernel with AF_XDP (Linux 5.4+), or --port packet");
  q.umem.reset(umem);

  xsk_socket_config config{};
  config.rx_size = rx_frames_;
  config.tx_size = tx_frames_;
  config.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // bpfq attaches its own program, by a link
  config.bind_flags = XDP_COPY;  // veth has no zero-copy mode
  xsk_socket* xsk = nullptr;
  if (int e = xsk_socket__create(&xsk, ifname.c_str(), q.id, q.umem.get(), &q.rx, sends ? &q.tx : nullptr, &config))
    fail("XDP socket on RX queue " + std::to_string(q.id), -e,
         -e == EBUSY ? "another AF_XDP socket (another bpfq live?) reads queue " + std::to_string(q.id) + " of " + ifname
                     : "AF_XDP copy mode needs Linux 5.4+ and root; or --port packet");
  q.xsk.reset(xsk);

  uint32_t at = 0;
  if (xsk_ring_prod__reserve(&q.fill, rx_frames_, &at) != rx_frames_) fail("fill ring", ENOSPC, "this is a bug in bpfq");
  for (uint32_t i = 0; i < rx_frames_; ++i) *xsk_ring_prod__fill_addr(&q.fill, at + i) = uint64_t{i} * frame_bytes_;
  xsk_ring_prod__submit(&q.fill, rx_frames_);
  stats_.rx_queue_packets.push_back(0);
}

// Up to max frames from the queues, each queue's frames in order; the queue read first rotates
// so that a busy queue cannot starve the others.
size_t XdpPort::receive(sched::PacketPool& pool, size_t max, uint64_t now_ns,
                        const std::function<void(sched::Packet*)>& on_packet) {
  size_t n = 0;
  for (size_t k = 0; k < queues_.size() && n < max; ++k)
    n += receive_queue(*queues_[(next_queue_ + k) % queues_.size()], pool, max - n, now_ns, on_packet);
  next_queue_ = (next_queue_ + 1) % queues_.size();
  return n;
}

size_t XdpPort::receive_queue(Queue& q, sched::PacketPool& pool, size_t max, uint64_t now_ns,
                              const std::function<void(sched::Packet*)>& on_packet) {
  uint32_t at = 0;
  const uint32_t n = xsk_ring_cons__peek(&q.rx, static_cast<uint32_t>(std::min<size_t>(max, rx_frames_)), &at);
  if (n == 0) return 0;
  // The frames' UMEM slots go back to the fill ring at once: the bytes are copied first. The
  // fill ring has a slot for every RX frame, and these n are not in it: the reservation holds.
  uint32_t fill_at = 0;
  const bool refill = xsk_ring_prod__reserve(&q.fill, n, &fill_at) == n;
  for (uint32_t i = 0; i < n; ++i) {
    const xdp_desc* desc = xsk_ring_cons__rx_desc(&q.rx, at + i);
    sched::Packet* pkt = pool.alloc();
    if (!pkt) {
      ++stats_.rx_no_buffer;
    } else if (!fill_packet(*pkt, {q.frame(desc->addr), desc->len}, VnetHeader{}, std::nullopt)) {
      ++stats_.rx_truncated;
      sched::PacketPool::release(pkt);
      pkt = nullptr;
    }
    // The descriptor's address points into the frame (after the headroom): the slot's start.
    if (refill) *xsk_ring_prod__fill_addr(&q.fill, fill_at + i) = desc->addr - desc->addr % frame_bytes_;
    if (!pkt) continue;
    pkt->created_ns = now_ns;
    ++stats_.rx_packets;
    ++stats_.rx_queue_packets[q.id];
    stats_.rx_bytes += pkt->len();
    on_packet(pkt);
  }
  xsk_ring_cons__release(&q.rx, n);
  if (refill) xsk_ring_prod__submit(&q.fill, n);
  return n;
}

void XdpPort::reap_completions() {
  Queue& q = txq();
  uint32_t at = 0;
  const uint32_t n = xsk_ring_cons__peek(&q.comp, tx_frames_, &at);
  for (uint32_t i = 0; i < n; ++i) tx_free_.push_back(*xsk_ring_cons__comp_addr(&q.comp, at + i));
  if (n) xsk_ring_cons__release(&q.comp, n);
}

// A free TX frame means a free TX ring slot too: the ring has a slot per frame, and the kernel
// consumes a descriptor before it completes its frame.
bool XdpPort::tx_room() {
  if (tx_free_.empty()) reap_completions();
  return !tx_free_.empty();
}

bool XdpPort::send(const sched::Packet& pkt) {
  // A frame no TX frame holds, or shorter than an Ethernet header, cannot be sent: dropped and
  // counted, not kept (it would block the queue forever). AF_XDP frames carry no offload
  // state; both ports of a run are of one kind, so no GSO bundle or partial checksum comes here.
  if (pkt.len() < ETH_HLEN || pkt.len() > frame_bytes_) {
    ++stats_.tx_errors;
    return true;
  }
  if (!tx_room()) return false;
  Queue& q = txq();
  uint32_t at = 0;
  xsk_ring_prod__reserve(&q.tx, 1, &at);
  const uint64_t addr = tx_free_.back();
  tx_free_.pop_back();
  std::memcpy(q.frame(addr), pkt.data(), pkt.len());
  *xsk_ring_prod__tx_desc(&q.tx, at) = xdp_desc{addr, pkt.len(), 0};
  xsk_ring_prod__submit(&q.tx, 1);
  ++stats_.tx_packets;
  stats_.tx_bytes += pkt.len();
  return true;
}

// Copy mode sends only from sendto(), 32 descriptors a call: kick until the ring is empty.
bool XdpPort::flush() {
  for (int kick = 0; kick < kMaxKicks && !tx_ring_empty(); ++kick) {
    if (sendto(txq().fd(), nullptr, 0, MSG_DONTWAIT, nullptr, 0) < 0 && errno != EAGAIN && errno != EBUSY &&
        errno != ENOBUFS && errno != EINTR)
      break;  // e.g. ENETDOWN: the frames wait on the ring for a later flush
    reap_completions();  // the kernel needs completion ring room to send more
  }
  reap_completions();
  return tx_ring_empty();
}

// The sockets' counters only grow: bpfq adds what changed since the last read. A frame larger
// than a UMEM frame counts in rx_dropped alone; an empty fill ring in rx_dropped and
// rx_fill_ring_empty_descs; a full RX ring in rx_ring_full.
void XdpPort::update_stats() {
  for (const auto& q : queues_) {
    xdp_statistics now{};
    socklen_t len = sizeof now;
    if (getsockopt(q->fd(), SOL_XDP, XDP_STATISTICS, &now, &len) != 0) continue;
    const xdp_statistics& seen = q->seen;
    const uint64_t dropped = now.rx_dropped - seen.rx_dropped;
    const uint64_t fill_empty = now.rx_fill_ring_empty_descs - seen.rx_fill_ring_empty_descs;
    stats_.rx_truncated += dropped > fill_empty ? dropped - fill_empty : 0;
    stats_.rx_kernel_drops += fill_empty + (now.rx_ring_full - seen.rx_ring_full);
    stats_.tx_errors += now.tx_invalid_descs - seen.tx_invalid_descs;
    q->seen = now;
  }
}

}  // namespace

std::unique_ptr<Port> open_xdp_port(const std::string& ifname, const PortOptions& options) {
  return std::make_unique<XdpPort>(ifname, interface_index(ifname), options);
}

}  // namespace bpfq::io::live
