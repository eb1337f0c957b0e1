// bpfq's kernel BTF (src/sched/kernel/kernel_types.bpf.c) against the C++ layout it describes:
// every field a program can reach through CO-RE must land on the byte bpfq keeps it in.
#include <bpf/btf.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <string>

#include <bpfq/sched/kernel_view.hpp>

namespace bpfq::sched {
namespace {

class KernelBtf : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::span<const uint8_t> raw = kernel_btf();
    btf_.reset(btf__new(raw.data(), static_cast<uint32_t>(raw.size())));
    ASSERT_NE(btf_, nullptr);
  }

  // Byte offset of a dotted member path ("q.qlen"), looking through anonymous members as CO-RE
  // does; -1 if absent.
  long offset_of(const std::string& type_name, const std::string& path) {
    const int id = btf__find_by_name_kind(btf_.get(), type_name.c_str(), BTF_KIND_STRUCT);
    if (id < 0) return -1;
    return find(static_cast<uint32_t>(id), path);
  }
  long find(uint32_t id, const std::string& path) {
    const std::string first = path.substr(0, path.find('.'));
    const std::string rest = path.find('.') == std::string::npos ? "" : path.substr(path.find('.') + 1);
    const btf_type* t = btf__type_by_id(btf_.get(), id);
    const btf_member* m = btf_members(t);
    for (uint16_t i = 0; i < btf_vlen(t); ++i) {
      const long here = btf_member_bit_offset(t, i) / 8;
      const char* name = btf__name_by_offset(btf_.get(), m[i].name_off);
      const uint32_t type = static_cast<uint32_t>(btf__resolve_type(btf_.get(), m[i].type));
      if (name[0] == '\0') {  // anonymous struct or union: its members are ours
        if (long inner = find(type, path); inner >= 0) return here + inner;
      } else if (first == name) {
        if (rest.empty()) return here;
        const long inner = find(type, rest);
        return inner < 0 ? -1 : here + inner;
      }
    }
    return -1;
  }

  std::unique_ptr<btf, void (*)(btf*)> btf_{nullptr, btf__free};
};

TEST_F(KernelBtf, SkBuffFieldsAreThePacketsBytes) {
  EXPECT_EQ(offset_of("sk_buff", "len"), long(offsetof(Packet, skb.len)));
  EXPECT_EQ(offset_of("sk_buff", "mark"), long(offsetof(Packet, skb.mark)));
  EXPECT_EQ(offset_of("sk_buff", "queue_mapping"), long(offsetof(Packet, skb.queue_mapping)));
  EXPECT_EQ(offset_of("sk_buff", "protocol"), long(offsetof(Packet, skb.protocol)));
  EXPECT_EQ(offset_of("sk_buff", "vlan_tci"), long(offsetof(Packet, skb.vlan_tci)));
  EXPECT_EQ(offset_of("sk_buff", "priority"), long(offsetof(Packet, skb.priority)));
  EXPECT_EQ(offset_of("sk_buff", "skb_iif"), long(offsetof(Packet, skb.ingress_ifindex)));
  EXPECT_EQ(offset_of("sk_buff", "tc_index"), long(offsetof(Packet, skb.tc_index)));
  EXPECT_EQ(offset_of("sk_buff", "hash"), long(offsetof(Packet, skb.hash)));
  EXPECT_EQ(offset_of("sk_buff", "tstamp"), long(kernel_skb::kTstamp));
  EXPECT_EQ(offset_of("sk_buff", "cb"), long(kernel_skb::kCb));
  EXPECT_EQ(offset_of("sk_buff", "sk"), long(offsetof(Packet, kernel.sk)));
  EXPECT_EQ(offset_of("sk_buff", "data_len"), long(offsetof(Packet, kernel.data_len)));
  EXPECT_EQ(offset_of("sk_buff", "mac_len"), long(offsetof(Packet, kernel.mac_len)));
  EXPECT_EQ(offset_of("sk_buff", "hdr_len"), long(offsetof(Packet, kernel.hdr_len)));
  EXPECT_EQ(offset_of("qdisc_skb_cb", "pkt_len"), 0);
  EXPECT_EQ(offset_of("qdisc_skb_cb", "data"), long(kernel_skb::kCbDataOffset));
  const int skb = btf__find_by_name_kind(btf_.get(), "sk_buff", BTF_KIND_STRUCT);
  EXPECT_EQ(btf__resolve_size(btf_.get(), static_cast<uint32_t>(skb)), long(kernel_skb::kSize));
}

TEST_F(KernelBtf, QdiscFieldsAreKernelQdisc) {
  EXPECT_EQ(offset_of("Qdisc", "flags"), long(offsetof(KernelQdisc, flags)));
  EXPECT_EQ(offset_of("Qdisc", "limit"), long(offsetof(KernelQdisc, limit)));
  EXPECT_EQ(offset_of("Qdisc", "handle"), long(offsetof(KernelQdisc, handle)));
  EXPECT_EQ(offset_of("Qdisc", "parent"), long(offsetof(KernelQdisc, parent)));
  EXPECT_EQ(offset_of("Qdisc", "dev_queue"), long(offsetof(KernelQdisc, dev_queue)));
  EXPECT_EQ(offset_of("Qdisc", "qstats.qlen"), long(offsetof(KernelQdisc, qstats.qlen)));
  EXPECT_EQ(offset_of("Qdisc", "qstats.backlog"), long(offsetof(KernelQdisc, qstats.backlog)));
  EXPECT_EQ(offset_of("Qdisc", "qstats.drops"), long(offsetof(KernelQdisc, qstats.drops)));
  EXPECT_EQ(offset_of("Qdisc", "qstats.overlimits"), long(offsetof(KernelQdisc, qstats.overlimits)));
  EXPECT_EQ(offset_of("Qdisc", "q.qlen"), long(offsetof(KernelQdisc, q.qlen)));
  const int qdisc = btf__find_by_name_kind(btf_.get(), "Qdisc", BTF_KIND_STRUCT);
  EXPECT_EQ(btf__resolve_size(btf_.get(), static_cast<uint32_t>(qdisc)), long(sizeof(KernelQdisc)));
  EXPECT_EQ(offset_of("netdev_queue", "dev"), long(offsetof(KernelNetdevQueue, dev)));
  EXPECT_EQ(offset_of("net_device", "mtu"), long(offsetof(KernelNetDevice, mtu)));
  EXPECT_EQ(offset_of("net_device", "hard_header_len"), long(offsetof(KernelNetDevice, hard_header_len)));
  EXPECT_EQ(offset_of("net_device", "ifindex"), long(offsetof(KernelNetDevice, ifindex)));
}

TEST_F(KernelBtf, HasTheStructOpsTypesLibbpfLooksFor) {
  EXPECT_GT(btf__find_by_name_kind(btf_.get(), "Qdisc_ops", BTF_KIND_STRUCT), 0);
  EXPECT_GT(btf__find_by_name_kind(btf_.get(), "bpf_struct_ops_Qdisc_ops", BTF_KIND_STRUCT), 0);
  EXPECT_GT(btf__find_by_name_kind(btf_.get(), "bpf_sk_buff_ptr", BTF_KIND_STRUCT), 0);
  for (const char* graph : {"bpf_list_head", "bpf_list_node", "bpf_rb_root", "bpf_rb_node", "bpf_refcount",
                            "bpf_spin_lock", "bpf_iter_num"})
    EXPECT_GT(btf__find_by_name_kind(btf_.get(), graph, BTF_KIND_STRUCT), 0) << graph;
  // Linux 6.16's member order: enqueue is member 5, destroy member 10 (libbpf's attach types).
  EXPECT_EQ(offset_of("Qdisc_ops", "enqueue"), 40);
  EXPECT_EQ(offset_of("Qdisc_ops", "destroy"), 80);
}

}  // namespace
}  // namespace bpfq::sched
