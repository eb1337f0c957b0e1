// Built instead of the adapter's tests when ns3::BpfQueueDisc is not (libns3-dev missing).
#include <gtest/gtest.h>

TEST(Ns3Adapter, SkippedBecauseNs3IsMissing) {
  GTEST_SKIP() << "ns3::BpfQueueDisc needs libns3-dev; missing: " << BPFQ_NS3_MISSING;
}
