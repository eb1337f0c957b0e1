#pragma once
// A FIFO of packets linked through Packet::next (no allocation per packet), with its length
// and byte backlog (qdisc_len). A packet sits in at most one PacketQueue at a time.
#include <cassert>
#include <cstdint>

#include <bpfq/sched/packet.hpp>

namespace bpfq::sched {

class PacketQueue {
 public:
  PacketQueue() = default;
  PacketQueue(const PacketQueue&) = delete;
  PacketQueue& operator=(const PacketQueue&) = delete;

  bool empty() const { return head_ == nullptr; }
  uint32_t size() const { return size_; }
  uint64_t bytes() const { return bytes_; }
  Packet* front() const { return head_; }

  void push_back(Packet* pkt) {
    assert(pkt->next == nullptr && pkt != tail_);
    if (tail_) tail_->next = pkt;
    else head_ = pkt;
    tail_ = pkt;
    note_added(pkt);
  }
  void push_front(Packet* pkt) {
    assert(pkt->next == nullptr && pkt != tail_);
    pkt->next = head_;
    head_ = pkt;
    if (!tail_) tail_ = pkt;
    note_added(pkt);
  }
  // nullptr when empty.
  Packet* pop_front() {
    Packet* pkt = head_;
    if (!pkt) return nullptr;
    head_ = pkt->next;
    if (!head_) tail_ = nullptr;
    pkt->next = nullptr;
    --size_;
    bytes_ -= pkt->qdisc_len();
    return pkt;
  }

 private:
  void note_added(Packet* pkt) {
    ++size_;
    bytes_ += pkt->qdisc_len();
  }

  Packet* head_ = nullptr;
  Packet* tail_ = nullptr;
  uint32_t size_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace bpfq::sched
