// The scenario runner behind `uvmemu-scenario`: a text script of process
// operations (spawn, map, fork, write, read, ...) is parsed as a whole,
// then run line by line against an emulated machine, printing after each
// line what it did, the UVMHIST records it produced and the state of
// every process.  The language is described in docs/walkthrough.md and
// by `uvmemu-scenario --help`.
//
//   std::istringstream in("spawn P\nmap P buf 4 rw\nwrite P buf \"hi\"\n");
//   int status = uvmemu::scenario::Run(in, "demo", std::cout, {});
//
// Adding a command is one entry in the table in commands.cc: its name,
// its arguments (kinds from ArgKind) and a function that runs it.
#ifndef UVMEMU_TOOLS_SCENARIO_SCENARIO_H
#define UVMEMU_TOOLS_SCENARIO_SCENARIO_H

#include <cstddef>
#include <cstdint>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace uvmemu::scenario {

// What an argument is; the parser checks each word against its kind.
enum class ArgKind {
  kProcess,     // a process spawned or forked earlier
  kNewProcess,  // a name not used yet
  kNewRegion,   // a name not used yet, for the range `map` creates
  kAddress,     // REGION, REGION+PAGE, or a number (0x1000, 4096)
  kPages,       // a page count >= 1
  kCount,       // a number >= 0
  kProt,        // none, r, w, rw (or -, r-, rw-)
  kInherit,     // share, copy, none
  kSharing,     // shared, private
  kText,        // a word or a "quoted string" (\" \\ \n escapes)
  kFile,        // a path
  kWords,       // the rest of the line (echo)
};

struct ArgSpec {
  ArgKind kind;
  const char* name;  // as shown in the usage line: PROC, PAGES, ...
  bool optional = false;
};

class Runner;
struct Command;

// One command of the language.
struct CommandSpec {
  const char* name;
  std::vector<ArgSpec> args;
  const char* help;
  // Runs a parsed command; an error is reported with the line number.
  absl::Status (*run)(Runner& runner, const Command& command);
};

// The table of commands (commands.cc).
const std::vector<CommandSpec>& Commands();
// "map PROC REGION PAGES PROT [SHARING]".
std::string Usage(const CommandSpec& spec);

struct Address {
  std::string region;  // empty for a numeric address
  uint64_t page = 0;   // REGION+PAGE
  uint64_t va = 0;     // a numeric address
};

struct Value {
  ArgKind kind;
  std::string word;  // names, text, files, protections, ...
  uint64_t number = 0;
  Address address;
  bool present = false;  // false for an optional argument left out
};

struct Command {
  int line = 0;
  std::string source;  // the line as written, without its comment
  const CommandSpec* spec = nullptr;
  std::vector<Value> args;
  bool expect_error = false;  // written as `expect-error COMMAND ...`
};

// Parses a whole script.  On malformed lines, the error lists every one
// as "NAME:LINE: error: ..." saying what was expected.
absl::StatusOr<std::vector<Command>> Parse(std::istream& script,
                                           const std::string& name);

struct Options {
  bool show_state = true;  // StructureText of every process after a line
  bool show_trace = true;  // the UVMHIST records each line produced
  size_t physical_pages = 1024;
  size_t swap_slots = 256;
};

// Parses and runs a script, writing to `out`.  Returns the exit status:
// 0 when every command did what it should, 1 when a command failed (the
// script goes on after a failure), 2 when the script is malformed
// (nothing runs).
int Run(std::istream& script, const std::string& name, std::ostream& out,
        const Options& options);

}  // namespace uvmemu::scenario

#endif  // UVMEMU_TOOLS_SCENARIO_SCENARIO_H
