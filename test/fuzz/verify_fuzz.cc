// libFuzzer target: the input's bytes are decoded into operations
// (DecodeOps: 6 bytes each) and run by the differential harness in this
// process, with every check after every step.  A divergence prints the
// report and aborts, which libFuzzer records as a crash; a leak aborts in
// the Machine's destructor.  Built by cmake/fuzz.cmake (UVMEMU_FUZZ).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "test/model/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace uvmemu::verify;
  // The first byte, when odd, turns on failure injection for the run
  // with the second byte as the Nth failure point.
  std::optional<uvmemu::FailurePlan> plan;
  if (size >= 2 && (data[0] & 1)) {
    plan.emplace();
    plan->fail_nth = data[1];
  }
  const size_t skip = size >= 2 ? 2 : size;
  const std::vector<Op> ops =
      DecodeOps(data + skip, size - skip, DefaultWeights());
  RunOptions options;
  options.plan = plan;
  const RunResult r = RunOps(ops, HarnessConfig(), options);
  if (!r.ok) {
    std::fprintf(stderr,
                 "uvmemu_fuzz: divergence at op %zu of %zu: %s\n"
                 "replay: UVMEMU_VERIFY_OPS='%s' uvmemu_tests "
                 "--gtest_filter='VerifyReplay.*'\n%s\n",
                 r.failed_op, ops.size(), r.message.c_str(),
                 OpsToString(ops).c_str(), r.dump.c_str());
    std::abort();
  }
  return 0;
}
