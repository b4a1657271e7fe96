// uvmemu-scenario: runs a script of process operations against an
// emulated machine and prints the state and trace after each line.
//
//   uvmemu-scenario [--no-state] [--no-trace] [--pages N] [--swap N] SCRIPT|-
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include "tools/scenario/scenario.h"

namespace {

void Help(std::ostream& out) {
  out << "usage: uvmemu-scenario [--no-state] [--no-trace] [--pages N] "
         "[--swap N] SCRIPT|-\n\n"
         "Runs SCRIPT (- for standard input) line by line and prints, after\n"
         "each line, its result, the UVMHIST records it produced and the\n"
         "structures of every process.  Exit status: 0 all commands did what\n"
         "they should, 1 some failed (the script goes on), 2 malformed\n"
         "script (nothing runs), 64 bad usage.  The machine has --pages\n"
         "physical pages (1024) and --swap swap slots (256).\n\n"
         "Commands (one a line; # starts a comment; `expect-error COMMAND`\n"
         "succeeds when COMMAND fails):\n";
  for (const auto& spec : uvmemu::scenario::Commands()) {
    const std::string usage = uvmemu::scenario::Usage(spec);
    out << "  " << usage
        << std::string(usage.size() < 42 ? 42 - usage.size() : 1, ' ')
        << spec.help << '\n';
  }
  out << "\nADDR is REGION, REGION+PAGE or a number; PROT is none, r, w or "
         "rw;\nMODE is share, copy or none; SHARING is shared or private.\n";
}

// A number argument >= min; false if it is not one.
bool ParseSize(std::string_view text, size_t min, size_t& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size() && out >= min;
}

}  // namespace

int main(int argc, char** argv) {
  uvmemu::scenario::Options options;
  std::string path;
  for (int i = 1; i < argc; i++) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      Help(std::cout);
      return 0;
    } else if (arg == "--no-state") {
      options.show_state = false;
    } else if (arg == "--no-trace") {
      options.show_trace = false;
    } else if (arg == "--pages" && i + 1 < argc) {
      if (!ParseSize(argv[++i], 16, options.physical_pages)) {
        std::cerr << "uvmemu-scenario: --pages wants a number >= 16\n";
        return 64;
      }
    } else if (arg == "--swap" && i + 1 < argc) {
      if (!ParseSize(argv[++i], 1, options.swap_slots)) {
        std::cerr << "uvmemu-scenario: --swap wants a number >= 1\n";
        return 64;
      }
    } else if (path.empty() && (arg == "-" || arg[0] != '-')) {
      path = arg;
    } else {
      Help(std::cerr);
      return 64;
    }
  }
  if (path.empty()) {
    Help(std::cerr);
    return 64;
  }
  if (path == "-")
    return uvmemu::scenario::Run(std::cin, "<stdin>", std::cout, options);
  std::ifstream script(path);
  if (!script) {
    std::cerr << "uvmemu-scenario: cannot open " << path << '\n';
    return 64;
  }
  return uvmemu::scenario::Run(script, path, std::cout, options);
}
