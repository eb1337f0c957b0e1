#include <bpfq/io/live/bridge.hpp>

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <span>
#include <utility>
#include <vector>

#include "frame_offload.hpp"

namespace bpfq::io::live {
namespace {

// A port is read in batches of this many frames before the other port and the timers get a turn.
constexpr size_t kRxBatch = 64;
// The line-rate pacer's memory: after the link idled, it may catch up this much (a wake-up
// overshoots by ~50 µs here; counting from the intended time keeps the rate exact).
constexpr uint64_t kPacerSlackNs = 1'000'000;

}  // namespace

// The side frames leave through: the runner of its device, paced onto its port's TX ring.
class Bridge::Egress final : public sched::Transmitter {
 public:
  Egress(Port& out, sched::Device& device, uint64_t rate_bps, bool cut_gso, sched::PacketPool& pool,
         const runtime::Clock& clock)
      : out_(out),
        rate_bps_(rate_bps),
        cut_gso_(cut_gso),
        pool_(pool),
        clock_(clock),
        device_(&device),
        watchdog_timer_([this] { runner_->on_timer(); }),
        link_timer_([this] { runner_->wake(); }) {
    runner_.emplace(device, clock, watchdog_timer_, *this);
  }

  void switch_device(sched::Device& device) {
    runner_.reset();  // detaches the watchdog from the old tree
    if (device_->root()) device_->root()->reset();
    device_ = &device;
    runner_.emplace(device, clock_, watchdog_timer_, *this);
  }

  bool can_transmit() const override {
    return out_.tx_room() && (rate_bps_ == 0 || clock_.now_ns() >= next_free_ns_);
  }

  bool transmit(sched::Packet* pkt, uint64_t now_ns) override {
    if (!out_.send(*pkt)) {
      // Refused with a slot free: the kernel was busy (a large frame's sendmsg); try again soon.
      retry_send_ = out_.tx_room();
      return false;
    }
    ++stats_.sent;
    stats_.sent_bytes += pkt->qdisc_len();
    if (rate_bps_) {
      const uint64_t start = std::max(next_free_ns_, now_ns > kPacerSlackNs ? now_ns - kPacerSlackNs : 0);
      next_free_ns_ = start + (uint64_t{pkt->qdisc_len()} * 8 * 1'000'000'000 + rate_bps_ / 2) / rate_bps_;
    }
    sched::PacketPool::release(pkt);
    return true;
  }

  // A packet received on the other side: to the device, as one or (cut) as its segments.
  void offer(sched::Packet* pkt) {
    if (cut_gso_ && pkt->skb.gso_segs > 1) {
      if (const auto cut = segment_gso(*pkt, pool_, [this](sched::Packet* seg) { enqueue(seg); })) {
        ++stats_.bundles_cut;
        stats_.cut_no_buffer += cut->no_buffer;
        sched::PacketPool::release(pkt);
        return;
      }
    }
    enqueue(pkt);
  }

  void enqueue(sched::Packet* pkt) {
    ++stats_.offered;
    runner_->enqueue(pkt);
  }

  // After a pass: hand the TX ring to the kernel and arrange the next wake-up the tree needs —
  // TX room (POLLOUT), the pacer's next slot (link timer); a throttled tree armed the watchdog.
  void settle() {
    flush_pending_ = !out_.flush();
    want_tx_room_ = false;
    const sched::Qdisc* root = runner_->root();
    if (!root || root->qlen() == 0) return;
    if (!out_.tx_room()) {
      want_tx_room_ = true;
    } else if (rate_bps_) {
      // Also when the slot came while the pass ended: a time already past fires at once, where
      // no wake-up at all would leave the packet until the next arrival.
      link_timer_.arm(next_free_ns_);
    }
  }

  // finish(): what the tree still holds goes out if the port takes it, else it is counted.
  void drain() {
    runner_->drain([&](sched::Packet* pkt) {
      if (!transmit(pkt, clock_.now_ns())) {
        ++stats_.unsent_at_exit;
        sched::PacketPool::release(pkt);
      }
    });
    out_.flush();
  }

  bool idle() const { return !runner_->root() || runner_->root()->qlen() == 0; }

  Port& out_;
  uint64_t rate_bps_;
  bool cut_gso_;
  sched::PacketPool& pool_;
  const runtime::Clock& clock_;
  sched::Device* device_;
  TimerFdTimer watchdog_timer_;
  TimerFdTimer link_timer_;
  std::optional<sched::QdiscRunner> runner_;
  uint64_t next_free_ns_ = 0;
  bool want_tx_room_ = false;
  bool flush_pending_ = false;
  bool retry_send_ = false;
  DirectionStats stats_;
};

Bridge::Bridge(sched::PacketPool& pool, const runtime::Clock& clock, std::array<Side, 2> sides)
    : pool_(pool), clock_(clock), sides_(sides) {
  for (int i = 0; i < 2; ++i)
    egress_[i] = std::make_unique<Egress>(*sides_[i].port, *sides_[i].egress, sides_[i].rate_bps, sides_[i].cut_gso, pool_,
                                          clock_);
}

Bridge::~Bridge() = default;

void Bridge::switch_device(int i, sched::Device& device) {
  sides_[i].egress = &device;
  egress_[i]->switch_device(device);
}

const DirectionStats& Bridge::stats(int i) const { return egress_[i]->stats_; }
sched::QdiscRunner& Bridge::runner(int i) { return *egress_[i]->runner_; }

void Bridge::watch(int fd, std::function<bool()> on_readable) { watches_.emplace_back(fd, std::move(on_readable)); }

bool Bridge::step(bool reading, int timeout_ms, bool& stop) {
  // Per side: its port's sockets (the first also for TX room), then its two timers.
  std::vector<pollfd> fds;
  std::array<size_t, 2> first{}, timers{};
  for (int i = 0; i < 2; ++i) {
    first[i] = fds.size();
    const std::span<const int> port_fds = sides_[i].port->fds();
    for (size_t k = 0; k < port_fds.size(); ++k) {
      const bool tx = k == 0 && egress_[i]->want_tx_room_;
      fds.push_back({port_fds[k], static_cast<short>((reading ? POLLIN : 0) | (tx ? POLLOUT : 0)), 0});
    }
    timers[i] = fds.size();
    fds.push_back({egress_[i]->watchdog_timer_.fd(), POLLIN, 0});
    fds.push_back({egress_[i]->link_timer_.fd(), POLLIN, 0});
  }
  const size_t watched = fds.size();
  if (reading)
    for (const auto& w : watches_) fds.push_back({w.first, POLLIN, 0});
  for (const auto& e : egress_)
    if (e->flush_pending_ || e->retry_send_) timeout_ms = std::min(timeout_ms < 0 ? 1 : timeout_ms, 1);
  if (poll(fds.data(), fds.size(), timeout_ms) < 0) return false;  // EINTR: a signal, the stop fd tells

  bool more = false;
  for (int i = 0; i < 2; ++i) {
    if (!std::any_of(fds.begin() + first[i], fds.begin() + timers[i], [](const pollfd& p) { return p.revents & POLLIN; }))
      continue;
    Egress& out = *egress_[1 - i];
    const size_t n = sides_[i].port->receive(pool_, kRxBatch, clock_.now_ns(), [&](sched::Packet* pkt) { out.offer(pkt); });
    more |= n == kRxBatch;
  }
  for (int i = 0; i < 2; ++i) {
    if (fds[timers[i]].revents & POLLIN) egress_[i]->watchdog_timer_.fire();
    if (fds[timers[i] + 1].revents & POLLIN) egress_[i]->link_timer_.fire();
    if (fds[first[i]].revents & POLLOUT) egress_[i]->runner_->wake();
    if (std::exchange(egress_[i]->retry_send_, false)) egress_[i]->runner_->wake();
  }
  for (size_t w = watched; w < fds.size(); ++w)
    if (fds[w].revents & POLLIN) stop |= watches_[w - watched].second();
  for (auto& e : egress_) e->settle();
  return more;
}

void Bridge::run() {
  bool stop = false;
  bool more = false;
  // A full batch means the ring holds more: come back without sleeping.
  while (!stop) more = step(true, more ? 0 : -1, stop);
}

void Bridge::finish(uint64_t grace_ns) {
  const uint64_t deadline = clock_.now_ns() + grace_ns;
  bool stop = false;
  while (!(egress_[0]->idle() && egress_[1]->idle()) && clock_.now_ns() < deadline)
    step(false, 10, stop);
  for (auto& e : egress_) e->drain();
  for (const Side& s : sides_) s.port->update_stats();
}

}  // namespace bpfq::io::live
