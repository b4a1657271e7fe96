// The state a scenario runs against: the machine, the named processes
// and regions, and the output (tools/scenario/runner.cc).
#ifndef UVMEMU_TOOLS_SCENARIO_RUNNER_H
#define UVMEMU_TOOLS_SCENARIO_RUNNER_H

#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/scenario/scenario.h"
#include "uvmemu/machine.h"
#include "uvmemu/trace.h"

namespace uvmemu::scenario {

struct Region {
  uint64_t va;
  uint64_t pages;
};

class Runner {
 public:
  Runner(std::ostream& out, const Options& options);

  // Runs one parsed line: prints it, its result, its trace and the state.
  // Returns false if the command did not do what the script says.
  bool Step(const Command& command);

  Machine& machine() { return *machine_; }
  std::ostream& out() { return out_; }
  PointerNames& names() { return names_; }

  // The named process; an error if the line that was to create it
  // failed (the parser has checked that some line defines it).
  absl::StatusOr<Process*> process(const std::string& name);
  void AddProcess(const std::string& name, Process process);
  // Processes in the order they were created, with their names.
  const std::vector<std::pair<std::string, std::unique_ptr<Process>>>&
  processes() const {
    return processes_;
  }

  void AddRegion(const std::string& name, Region region) {
    regions_[name] = region;
  }
  // The address an Address argument names.
  absl::StatusOr<uint64_t> Resolve(const Address& address) const;
  // The pages from the address to the end of its region (1 for a
  // numeric address): what a range command without PAGES covers.
  absl::StatusOr<uint64_t> PagesToEnd(const Address& address) const;

  // A line of the command's result ("-> ...").
  void Say(const std::string& text);
  // The structure text of the named processes (all if empty).
  std::string State(const std::vector<std::string>& only = {});

 private:
  std::ostream& out_;
  Options options_;
  // Declared before the processes: they must go before the machine.
  std::unique_ptr<Machine> machine_;
  std::vector<std::pair<std::string, std::unique_ptr<Process>>> processes_;
  std::map<std::string, Region> regions_;
  PointerNames names_;
  uint64_t last_seq_ = 0;
};

}  // namespace uvmemu::scenario

#endif  // UVMEMU_TOOLS_SCENARIO_RUNNER_H
