// Running a parsed scenario: each line's result, UVMHIST records and the
// state of every process, with host pointers shown by stable names so
// that the output is the same for every run.
#include "tools/scenario/runner.h"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "uvm/uvm.h"
#include "uvmemu/structure.h"

namespace uvmemu::scenario {
namespace {

void Indented(std::ostream& out, const std::string& text, const char* indent) {
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty()))
    out << indent << line << '\n';
}

}  // namespace

Runner::Runner(std::ostream& out, const Options& options)
    : out_(out), options_(options) {
  machine_ = std::make_unique<Machine>(
      MachineConfig{.physical_pages = options.physical_pages,
                    .swap_slots = options.swap_slots});
}

absl::StatusOr<Process*> Runner::process(const std::string& name) {
  for (auto& [n, p] : processes_)
    if (n == name) return p.get();
  return absl::FailedPreconditionError(absl::StrCat(
      "process ", name, " does not exist (the line creating it failed)"));
}

void Runner::AddProcess(const std::string& name, Process process) {
  processes_.emplace_back(name, std::make_unique<Process>(std::move(process)));
}

absl::StatusOr<uint64_t> Runner::Resolve(const Address& address) const {
  if (address.region.empty()) return address.va;
  auto it = regions_.find(address.region);
  if (it == regions_.end())
    return absl::FailedPreconditionError(absl::StrCat(
        "region ", address.region, " was not mapped (its map failed)"));
  if (address.page >= it->second.pages)
    return absl::InvalidArgumentError(
        absl::StrFormat("page %d is outside region %s (%d pages)", address.page,
                        address.region, it->second.pages));
  return it->second.va + address.page * PAGE_SIZE;
}

absl::StatusOr<uint64_t> Runner::PagesToEnd(const Address& address) const {
  if (address.region.empty()) return 1;
  if (absl::Status s = Resolve(address).status(); !s.ok()) return s;
  return regions_.at(address.region).pages - address.page;
}

void Runner::Say(const std::string& text) { Indented(out_, text, "   -> "); }

std::string Runner::State(const std::vector<std::string>& only) {
  std::vector<DumpedProcess> procs;
  for (const auto& [name, p] : processes_) {
    if (!only.empty() &&
        std::find(only.begin(), only.end(), name) == only.end())
      continue;
    procs.push_back({name, p.get()});
  }
  StructureOptions options;
  options.names = &names_;
  return StructureText(procs, options);
}

bool Runner::Step(const Command& command) {
  out_ << command.line << ": " << command.source << '\n';
  absl::Status status = command.spec->run(*this, command);
  bool ok = true;
  if (command.expect_error) {
    if (status.ok()) {
      out_ << "   error: expected this command to fail, but it succeeded\n";
      ok = false;
    } else {
      out_ << "   failed as expected: " << status.ToString() << '\n';
    }
  } else if (!status.ok()) {
    out_ << "   error: " << status.ToString() << '\n';
    ok = false;
  }
  // The state first, so that the trace shows the objects by the names
  // the state gives them.
  const std::string state = options_.show_state ? State() : "";
  if (options_.show_trace) {
    std::vector<TraceRecord> records = Trace::Tail();
    std::vector<std::string> lines;
    uint64_t lost = 0;
    for (const TraceRecord& r : records) {
      if (r.seq <= last_seq_) continue;
      if (lines.empty() && r.seq > last_seq_ + 1) lost = r.seq - last_seq_ - 1;
      lines.push_back(Trace::Format(r, &names_));
    }
    if (!records.empty()) last_seq_ = std::max(last_seq_, records.back().seq);
    if (!lines.empty() || lost > 0) {
      out_ << "   trace:";
      if (lost > 0) out_ << " (" << lost << " older records overwritten)";
      out_ << '\n';
      for (const std::string& l : lines) out_ << "     " << l << '\n';
    }
  }
  if (options_.show_state && !state.empty()) {
    out_ << "   state:\n";
    Indented(out_, state, "     ");
  }
  return ok;
}

int Run(std::istream& script, const std::string& name, std::ostream& out,
        const Options& options) {
  absl::StatusOr<std::vector<Command>> commands = Parse(script, name);
  if (!commands.ok()) {
    out << commands.status().message() << '\n';
    return 2;
  }
  Runner runner(out, options);
  Trace::Clear();
  int failures = 0;
  for (const Command& c : *commands)
    if (!runner.Step(c)) failures++;
  out << "\n"
      << name << ": " << commands->size() << " commands, " << failures
      << " failed\n";
  return failures == 0 ? 0 : 1;
}

}  // namespace uvmemu::scenario
