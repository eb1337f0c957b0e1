// Built instead of the differential tests when ns-3 (libns3-dev) is not installed: one test
// that skips and says which header or library CMake could not find.
#include <gtest/gtest.h>

TEST(Ns3Differential, SkippedBecauseNs3IsMissing) {
  GTEST_SKIP() << "ns-3 differential tests need libns3-dev; missing: " << BPFQ_NS3_MISSING;
}
