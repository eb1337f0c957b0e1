#include <bpfq/io/live/timerfd_timer.hpp>

#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <bpfq/error.hpp>

namespace bpfq::io {

TimerFdTimer::TimerFdTimer(std::function<void()> on_fire) : on_fire_(std::move(on_fire)) {
  fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd_ < 0) throw Error(std::string("timerfd_create: ") + std::strerror(errno), "live watchdog timer");
}

TimerFdTimer::~TimerFdTimer() { close(fd_); }

void TimerFdTimer::arm(uint64_t at_ns) {
  // it_value 0 would disarm: an absolute time of 0 (long past) becomes 1 ns, which fires at once.
  if (at_ns == 0) at_ns = 1;
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(at_ns / 1'000'000'000);
  spec.it_value.tv_nsec = static_cast<long>(at_ns % 1'000'000'000);
  if (timerfd_settime(fd_, TFD_TIMER_ABSTIME, &spec, nullptr) == 0) armed_ = true;
}

void TimerFdTimer::cancel() {
  itimerspec spec{};
  timerfd_settime(fd_, 0, &spec, nullptr);
  armed_ = false;
}

bool TimerFdTimer::fire() {
  uint64_t expirations = 0;
  if (read(fd_, &expirations, sizeof expirations) != sizeof expirations || expirations == 0) return false;
  armed_ = false;
  if (on_fire_) on_fire_();
  return true;
}

}  // namespace bpfq::io
