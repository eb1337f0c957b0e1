#include <bpfq/sched/qdisc_runner.hpp>

#include <bpfq/sched/packet_pool.hpp>

namespace bpfq::sched {

QdiscRunner::QdiscRunner(Device& device, const runtime::Clock& clock, Timer& timer, Transmitter& tx)
    : device_(&device), clock_(clock), tx_(tx), watchdog_(clock, timer) {
  device.set_watchdog(&watchdog_);
}

QdiscRunner::QdiscRunner(Qdisc& root, const runtime::Clock& clock, Timer& timer, Transmitter& tx)
    : bare_root_(&root), clock_(clock), tx_(tx), watchdog_(clock, timer) {
  root.attach_watchdog(&watchdog_);
}

QdiscRunner::~QdiscRunner() {
  if (device_) device_->set_watchdog(nullptr);
  if (bare_root_) bare_root_->attach_watchdog(nullptr);
}

Qdisc* QdiscRunner::root() const { return device_ ? device_->root() : bare_root_; }

EnqueueResult QdiscRunner::enqueue(Packet* pkt) {
  const uint64_t now = clock_.now_ns();
  const EnqueueResult r = device_ ? device_->transmit(pkt, now) : bare_root_->enqueue(pkt, now);
  run();
  return r;
}

DequeueResult QdiscRunner::dequeue(uint64_t now_ns) {
  ++stats_.dequeue_calls;
  return device_ ? device_->dequeue(now_ns) : bare_root_->dequeue(now_ns);
}

void QdiscRunner::run() {
  if (running_) return;
  running_ = true;
  while (tx_.can_transmit()) {
    const uint64_t now = clock_.now_ns();
    const DequeueResult r = dequeue(now);
    if (r.kind == DequeueResult::Kind::Throttled) watchdog_.schedule(r.throttled_until_ns);
    if (r.kind != DequeueResult::Kind::Packet) break;
    if (!tx_.transmit(r.packet, now)) {
      ++stats_.requeued;
      root()->requeue(r.packet);
      break;
    }
  }
  running_ = false;
}

void QdiscRunner::on_timer() {
  if (watchdog_.fire()) run();
}

void QdiscRunner::drain(const std::function<void(Packet*)>& on_packet, const std::function<void(uint64_t)>& advance) {
  watchdog_.cancel();
  Qdisc* q = root();
  if (!q) return;
  // A program may throttle forever or hand out nothing; each packet gets a few tries.
  uint64_t tries = 2 * uint64_t{q->qlen()} + 16;
  while (q->qlen() > 0 && tries-- > 0) {
    const uint64_t now = clock_.now_ns();
    const DequeueResult r = dequeue(now);
    if (r.kind == DequeueResult::Kind::Packet) {
      ++stats_.drained;
      on_packet(r.packet);
      continue;
    }
    if (r.kind != DequeueResult::Kind::Throttled || !advance || r.throttled_until_ns == UINT64_MAX) break;
    advance(std::max(r.throttled_until_ns, now + 1));
  }
  stats_.reset_at_end += q->qlen();
  q->reset();
}

}  // namespace bpfq::sched
