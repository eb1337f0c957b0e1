// The live datapath's ports on one end of a veth pair in a namespace of its own
// (bpfq-<pid>-x: x0 the port, x1 the peer with an AF_PACKET socket).
// AF_XDP: frames in arrive byte for byte and are counted (on every RX queue of an interface with
// two), a pool that runs dry and a frame larger than a UMEM frame are counted as lost, frames
// out arrive on the peer byte for byte past a full TX ring, and the XDP program is on x0 while
// the port is open and gone after. AF_PACKET: large frames, sent from the packet itself, and
// small ones, sent through the TX ring, arrive in the order sent. Skipped by name without root
// or AF_XDP.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/io/live/port.hpp>

#include "live/live_topology.hpp"

namespace bpfq::test {
namespace {

using io::live::Port;
using Frame = std::vector<uint8_t>;

// Frame i of a test: `len` bytes, broadcast from a made-up MAC, an ethertype of the local
// experimental range (no stack takes it), then a byte pattern unique to i.
Frame test_frame(uint32_t i, uint32_t len) {
  Frame f(len);
  for (int b = 0; b < 6; ++b) f[b] = 0xff;
  const uint8_t src[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  std::copy(src, src + 6, f.begin() + 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  for (uint32_t b = 14; b < len; ++b) f[b] = static_cast<uint8_t>(i * 7 + b);
  return f;
}

// A namespace with the veth pair x0–x1 (MTU 3000: room for a frame too large for a 2 KB UMEM
// frame, and small enough for XDP on a veth), IPv6 off so no stack sends frames of its own; the
// test thread enters it and leaves it (and the namespace goes) at the end.
class VethPortTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = live_unavailable()) GTEST_SKIP() << *why;
    ns_ = "bpfq-" + std::to_string(getpid()) + "-x";
    sh("ip netns del " + ns_);
    ASSERT_TRUE(sh("ip netns add " + ns_) &&
                sh("ip netns exec " + ns_ + " sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1") &&
                sh("ip -n " + ns_ + " link add x0 mtu 3000 type veth peer name x1 mtu 3000") &&
                sh("ip -n " + ns_ + " link set x0 up") && sh("ip -n " + ns_ + " link set x1 up"))
        << "could not build the namespace";
    home_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    const int there = open(("/run/netns/" + ns_).c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_EQ(setns(there, CLONE_NEWNET), 0);
    close(there);
    open_peer("x1");
  }
  // The peer's socket on ifname, in place of the one it had.
  void open_peer(const char* ifname) {
    if (peer_ >= 0) close(peer_);
    peer_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = static_cast<int>(if_nametoindex(ifname));
    const int one = 1, big = 8 << 20;
    ASSERT_GE(peer_, 0);
    ASSERT_EQ(setsockopt(peer_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one), 0);  // not its own frames
    ASSERT_EQ(setsockopt(peer_, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big), 0);
    ASSERT_EQ(bind(peer_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  void TearDown() override {
    if (peer_ >= 0) close(peer_);
    if (home_ >= 0) {
      setns(home_, CLONE_NEWNET);
      close(home_);
    }
    if (!ns_.empty()) sh("ip netns del " + ns_);
  }

  static bool sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }
  // What `ip -d link show x0` says (the XDP program attached shows as "xdp" / "prog/xdp").
  std::string link_details() const {
    FILE* p = popen(("ip -d -n " + ns_ + " link show x0").c_str(), "r");
    std::string out;
    char buf[512];
    while (p && fgets(buf, sizeof buf, p)) out += buf;
    if (p) pclose(p);
    return out;
  }

  void peer_send(const Frame& f) const { ASSERT_EQ(send(peer_, f.data(), f.size(), 0), static_cast<ssize_t>(f.size())); }

  // Frames received by the port until `want` came or 2 s passed; the packets are kept.
  std::vector<sched::Packet*> receive(Port& port, sched::PacketPool& pool, size_t want) const {
    std::vector<sched::Packet*> got;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (got.size() < want && std::chrono::steady_clock::now() < end) {
      std::vector<pollfd> fds;
      for (int fd : port.fds()) fds.push_back({fd, POLLIN, 0});
      poll(fds.data(), fds.size(), 50);
      port.receive(pool, 64, 1, [&](sched::Packet* pkt) { got.push_back(pkt); });
    }
    return got;
  }

  // Frames the peer received until `want` came or 2 s passed.
  std::vector<Frame> peer_receive(size_t want) const {
    std::vector<Frame> got;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    Frame buf(io::live::kMaxFrameBytes);
    while (got.size() < want && std::chrono::steady_clock::now() < end) {
      pollfd p{peer_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = recv(peer_, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n > 0) got.emplace_back(buf.begin(), buf.begin() + n);
    }
    return got;
  }

  // A packet sent through a port: its bytes noted in sent_, the packet released.
  void note_sent(sched::Packet* p) {
    sent_.emplace_back(p->bytes().begin(), p->bytes().end());
    sent_bytes_ += p->len();
    sched::PacketPool::release(p);
  }
  // The peer received exactly sent_, in order (after a flush).
  void expect_peer_received_what_was_sent() const {
    const std::vector<Frame> got = peer_receive(sent_.size());
    ASSERT_EQ(got.size(), sent_.size());
    for (size_t i = 0; i < sent_.size(); ++i) ASSERT_EQ(got[i], sent_[i]) << "frame " << i << " of " << sent_[i].size() << " bytes";
  }

  std::string ns_;
  int home_ = -1;
  int peer_ = -1;
  std::vector<Frame> sent_;
  uint64_t sent_bytes_ = 0;
};

class XdpPortTest : public VethPortTest {
 protected:
  void SetUp() override {
    VethPortTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (auto why = xdp_unavailable()) GTEST_SKIP() << *why;
  }
};

// A veth pair p0–p1 with a 64 KB MTU, so that large frames need no GSO, and the peer on p1.
class PacketPortTest : public VethPortTest {
 protected:
  void SetUp() override {
    VethPortTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(sh("ip -n " + ns_ + " link add p0 mtu 65000 type veth peer name p1 mtu 65000") &&
                sh("ip -n " + ns_ + " link set p0 up") && sh("ip -n " + ns_ + " link set p1 up"));
    open_peer("p1");
  }
};

// test_frame with a VLAN tag (TPID 0x8100, VID 5) after the MAC addresses: len bytes in all.
Frame tagged_frame(uint32_t i, uint32_t len) {
  Frame f = test_frame(i, len - 4);
  const uint8_t tag[4] = {0x81, 0x00, 0x00, 0x05};
  f.insert(f.begin() + 12, tag, tag + 4);
  return f;
}

// Frames larger than a 4 KB ring slot are read whole from the socket's queue, the others from
// the RX ring: all arrive in the order sent, byte for byte, a VLAN tag the kernel took out put
// back. A packet the pool cannot give drops its frame and leaves the next ones in step; a full
// receive queue cuts large frames, counted as lost in the kernel.
TEST_F(PacketPortTest, ReceivesLargeFramesInOrderWithSmallOnes) {
  io::live::PortOptions options;
  options.kind = io::live::PortKind::Packet;
  auto port = io::live::open_port("p0", options);
  sched::PacketPool pool(sched::PacketPoolConfig{64, io::live::kMaxFrameBytes});
  const std::vector<Frame> sent = {test_frame(0, 60),    test_frame(1, 30000),   test_frame(2, 1514),
                                   test_frame(3, 65014), test_frame(4, 100),     tagged_frame(5, 20000),
                                   tagged_frame(6, 200), test_frame(7, 4096),    test_frame(8, 16000)};
  uint64_t bytes = 0;
  for (const Frame& f : sent) {
    peer_send(f);
    bytes += f.size();
  }
  std::vector<sched::Packet*> got = receive(*port, pool, sent.size());
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(Frame(got[i]->bytes().begin(), got[i]->bytes().end()), sent[i]) << "frame " << i;
    sched::PacketPool::release(got[i]);
  }
  EXPECT_EQ(port->stats().rx_packets, sent.size());
  EXPECT_EQ(port->stats().rx_bytes, bytes);

  // A pool of two, kept: the third and fourth frames find no packet; the fifth, once there is
  // one, is itself.
  sched::PacketPool two(sched::PacketPoolConfig{2, io::live::kMaxFrameBytes});
  for (uint32_t i = 10; i < 14; ++i) peer_send(test_frame(i, i == 13 ? 80 : 9000 + i));
  std::vector<sched::Packet*> kept = receive(*port, two, 4);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(Frame(kept[1]->bytes().begin(), kept[1]->bytes().end()), test_frame(11, 9011));
  EXPECT_EQ(port->stats().rx_no_buffer, 2u);
  for (sched::Packet* p : kept) sched::PacketPool::release(p);
  peer_send(test_frame(14, 12345));
  kept = receive(*port, two, 1);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(Frame(kept[0]->bytes().begin(), kept[0]->bytes().end()), test_frame(14, 12345));
  sched::PacketPool::release(kept[0]);
  port->update_stats();
  EXPECT_EQ(port->stats().rx_truncated + port->stats().rx_kernel_drops, 0u);

  // A receive queue with room for one large frame: the next two arrive cut, counted as lost in
  // the kernel; the small frame after them comes through the ring.
  const int tiny = 1;  // the kernel's minimum
  ASSERT_EQ(setsockopt(port->fds()[0], SOL_SOCKET, SO_RCVBUF, &tiny, sizeof tiny), 0);
  for (uint32_t i = 20; i < 23; ++i) peer_send(test_frame(i, 30000));
  peer_send(test_frame(23, 100));
  kept = receive(*port, two, 2);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(Frame(kept[0]->bytes().begin(), kept[0]->bytes().end()), test_frame(20, 30000));
  EXPECT_EQ(Frame(kept[1]->bytes().begin(), kept[1]->bytes().end()), test_frame(23, 100));
  for (sched::Packet* p : kept) sched::PacketPool::release(p);
  EXPECT_EQ(port->stats().rx_kernel_drops, 2u);
  EXPECT_EQ(port->stats().rx_truncated, 0u);
}

// Rings the kernel cannot give: an error naming the port, the step and a fix, and no socket
// left open.
TEST_F(PacketPortTest, RingsTooLargeAreAnErrorNamingThePort) {
  io::live::PortOptions options;
  options.kind = io::live::PortKind::Packet;
  options.rx_frames = 1u << 30;
  const auto open_fds = [] {
    int n = 0;
    for (int fd = 0; fd < 4096; ++fd) n += fcntl(fd, F_GETFD) != -1;
    return n;
  };
  const int before = open_fds();
  try {
    io::live::open_port("p0", options);
    FAIL() << "the port opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "AF_PACKET port on p0");
    EXPECT_EQ(e.reason().rfind("PACKET_RX_RING: ", 0), 0u) << e.reason();
    EXPECT_EQ(e.hint(), "fewer ring frames, or more memory");
  }
  EXPECT_EQ(open_fds(), before);
}

// Frames larger than 16 KiB leave by sendmsg from the packet, the others through the TX ring;
// a flush before each large one keeps them all in the order sent. A frame above the MTU is
// refused and counted.
TEST_F(PacketPortTest, SendsLargeFramesInOrderWithSmallOnes) {
  io::live::PortOptions options;
  options.kind = io::live::PortKind::Packet;
  auto port = io::live::open_port("p0", options);
  ASSERT_EQ(port->kind(), io::live::PortKind::Packet);
  sched::PacketPool pool(sched::PacketPoolConfig{64, io::live::kMaxFrameBytes});
  const uint32_t sizes[] = {100, 30000, 200, 60, 16384, 16385, 65014, 1500, 20000, 20000, 64};
  for (uint32_t i = 0; i < std::size(sizes); ++i) {
    sched::Packet* p = pool.alloc();
    ASSERT_TRUE(p->assign(test_frame(i, sizes[i])));
    ASSERT_TRUE(port->send(*p)) << i;
    note_sent(p);
  }
  ASSERT_TRUE(port->flush());
  expect_peer_received_what_was_sent();

  sched::Packet* too_large = pool.alloc();
  ASSERT_TRUE(too_large->assign(test_frame(99, 65100)));
  EXPECT_TRUE(port->send(*too_large));  // handed over, refused: counted, not kept
  sched::PacketPool::release(too_large);
  EXPECT_EQ(port->stats().tx_packets, std::size(sizes) + 1);
  EXPECT_EQ(port->stats().tx_bytes, sent_bytes_ + 65100);
  EXPECT_EQ(port->stats().tx_errors, 1u);
}

TEST_F(XdpPortTest, ReceivesFramesByteForByteAndCountsEveryOne) {
  io::live::PortOptions options;
  options.kind = io::live::PortKind::Xdp;
  auto port = io::live::open_port("x0", options);
  ASSERT_EQ(port->kind(), io::live::PortKind::Xdp);
  EXPECT_NE(link_details().find("xdp"), std::string::npos) << "the redirect program is on x0:\n" << link_details();

  // 200 frames of 60 to 1553 bytes, more than the RX ring holds at once: read as they come.
  sched::PacketPool pool(sched::PacketPoolConfig{512, io::live::kMaxFrameBytes});
  std::vector<Frame> sent;
  std::vector<sched::Packet*> got;
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < 200; ++i) {
    sent.push_back(test_frame(i, 60 + (i * 97) % 1494));
    bytes += sent.back().size();
    peer_send(sent.back());
    if (i % 50 == 49)
      for (sched::Packet* p : receive(*port, pool, 50)) got.push_back(p);
  }
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    ASSERT_EQ(Frame(got[i]->bytes().begin(), got[i]->bytes().end()), sent[i]) << "frame " << i;
    EXPECT_EQ(got[i]->created_ns, 1u);
    EXPECT_EQ(got[i]->offload.flags, 0u);
    sched::PacketPool::release(got[i]);
  }
  port->update_stats();
  const io::live::PortStats& s = port->stats();
  EXPECT_EQ(s.rx_packets, 200u);
  EXPECT_EQ(s.rx_bytes, bytes);
  EXPECT_EQ(s.rx_no_buffer + s.rx_truncated + s.rx_kernel_drops, 0u);

  // A pool of 16 packets, none returned: 4 of 20 frames find no packet and are counted.
  sched::PacketPool small(sched::PacketPoolConfig{16, 2048});
  for (uint32_t i = 0; i < 20; ++i) peer_send(test_frame(i, 100));
  std::vector<sched::Packet*> kept = receive(*port, small, 20);
  EXPECT_EQ(kept.size(), 16u);
  EXPECT_EQ(port->stats().rx_no_buffer, 4u);
  EXPECT_EQ(port->stats().rx_packets, 216u);
  for (sched::Packet* p : kept) sched::PacketPool::release(p);

  port.reset();
  EXPECT_EQ(link_details().find("xdp"), std::string::npos) << "the program left with the port:\n" << link_details();
}

TEST_F(XdpPortTest, AFrameLargerThanAUmemFrameIsCountedAsTruncated) {
  io::live::PortOptions options;
  options.xdp_frame_bytes = 2048;  // 1792 bytes after the kernel's headroom
  auto port = io::live::open_xdp_port("x0", options);
  sched::PacketPool pool(sched::PacketPoolConfig{64, io::live::kMaxFrameBytes});
  peer_send(test_frame(1, 2500));
  peer_send(test_frame(2, 1792));  // the largest that fits
  std::vector<sched::Packet*> got = receive(*port, pool, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(Frame(got[0]->bytes().begin(), got[0]->bytes().end()), test_frame(2, 1792));
  sched::PacketPool::release(got[0]);
  port->update_stats();
  EXPECT_EQ(port->stats().rx_truncated, 1u);
  EXPECT_EQ(port->stats().rx_kernel_drops, 0u);
  EXPECT_EQ(port->stats().rx_packets, 1u);
}

TEST_F(XdpPortTest, SendsFramesPastAFullTxRing) {
  io::live::PortOptions options;
  options.tx_frames = 64;
  auto port = io::live::open_xdp_port("x0", options);
  sched::PacketPool pool(sched::PacketPoolConfig{512, io::live::kMaxFrameBytes});
  auto packet = [&](uint32_t i) {
    sched::Packet* p = pool.alloc();
    const Frame f = test_frame(i, 60 + (i * 131) % 1455);
    EXPECT_TRUE(p->assign(f));
    return p;
  };
  // 64 TX frames: the 65th waits for a flush, which hands the ring to the kernel.
  for (uint32_t i = 0; i < 64; ++i) {
    sched::Packet* p = packet(i);
    ASSERT_TRUE(port->send(*p)) << i;
    note_sent(p);
  }
  sched::Packet* extra = packet(64);
  EXPECT_FALSE(port->tx_room());
  EXPECT_FALSE(port->send(*extra));
  EXPECT_TRUE(port->flush());
  EXPECT_TRUE(port->tx_room());
  // Then 236 more, flushed as the bridge does: when the ring is full, and at the end.
  for (uint32_t i = 64; i < 300; ++i) {
    sched::Packet* p = i == 64 ? extra : packet(i);
    if (!port->send(*p)) {
      ASSERT_TRUE(port->flush());
      ASSERT_TRUE(port->send(*p)) << i;
    }
    note_sent(p);
  }
  ASSERT_TRUE(port->flush());
  expect_peer_received_what_was_sent();
  // A frame shorter than an Ethernet header cannot go: dropped and counted, not kept.
  sched::Packet* runt = pool.alloc();
  ASSERT_TRUE(runt->assign(Frame(10, 0xab)));
  EXPECT_TRUE(port->send(*runt));
  sched::PacketPool::release(runt);
  port->update_stats();
  EXPECT_EQ(port->stats().tx_packets, 300u);
  EXPECT_EQ(port->stats().tx_bytes, sent_bytes_);
  EXPECT_EQ(port->stats().tx_errors, 1u);
  EXPECT_EQ(port->stats().rx_packets, 0u);
}

// An interface with two RX queues gets a socket on each: frames sent on either of the peer's TX
// queues (veth hands a frame to the RX queue of the same number) arrive byte for byte, counted
// by queue. The peer's packet socket bypasses the qdisc layer, so a frame leaves on the TX queue
// numbered by the sending CPU (modulo the queues): the test sends from CPU 0, then from CPU 1.
TEST_F(XdpPortTest, ReadsEveryRxQueueOfTheInterface) {
  ASSERT_TRUE(sh("ip -n " + ns_ + " link add y0 numrxqueues 2 numtxqueues 2 type veth peer name y1 numrxqueues 2 numtxqueues 2") &&
              sh("ip -n " + ns_ + " link set y0 up") && sh("ip -n " + ns_ + " link set y1 up"));
  cpu_set_t mine;
  ASSERT_EQ(sched_getaffinity(0, sizeof mine, &mine), 0);
  if (!CPU_ISSET(0, &mine) || !CPU_ISSET(1, &mine)) GTEST_SKIP() << "needs CPUs 0 and 1 to pick the peer's TX queue";
  const int sender = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  ASSERT_GE(sender, 0);
  const int one = 1;
  ASSERT_EQ(setsockopt(sender, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one), 0);
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  addr.sll_ifindex = static_cast<int>(if_nametoindex("y1"));
  ASSERT_EQ(bind(sender, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);

  io::live::PortOptions options;
  options.kind = io::live::PortKind::Xdp;
  auto port = io::live::open_port("y0", options);
  EXPECT_EQ(port->fds().size(), 2u);
  std::vector<Frame> sent;
  for (int cpu = 0; cpu < 2; ++cpu) {
    cpu_set_t only;
    CPU_ZERO(&only);
    CPU_SET(cpu, &only);
    ASSERT_EQ(sched_setaffinity(0, sizeof only, &only), 0);
    for (uint32_t i = 0; i < 100; ++i) {
      sent.push_back(test_frame(static_cast<uint32_t>(sent.size()), 60 + i));
      ASSERT_EQ(send(sender, sent.back().data(), sent.back().size(), 0), static_cast<ssize_t>(sent.back().size()));
    }
  }
  ASSERT_EQ(sched_setaffinity(0, sizeof mine, &mine), 0);
  close(sender);

  sched::PacketPool pool(sched::PacketPoolConfig{512, io::live::kMaxFrameBytes});
  std::vector<sched::Packet*> got = receive(*port, pool, sent.size());
  ASSERT_EQ(got.size(), sent.size());
  // Each queue's frames come in order; the two queues' interleave.
  std::vector<Frame> frames;
  for (sched::Packet* pkt : got) {
    frames.emplace_back(pkt->data(), pkt->data() + pkt->len());
    sched::PacketPool::release(pkt);
  }
  std::sort(frames.begin(), frames.end());
  std::sort(sent.begin(), sent.end());
  EXPECT_EQ(frames, sent);
  EXPECT_EQ(port->stats().rx_packets, 200u);
  EXPECT_EQ(port->stats().rx_queue_packets, (std::vector<uint64_t>{100, 100}));
}

}  // namespace
}  // namespace bpfq::test
