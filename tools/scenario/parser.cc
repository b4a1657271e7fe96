// Parsing of scenario scripts: words, quoted strings, comments, and each
// argument checked against its kind, with the names a script defines
// (processes, regions) tracked so that a use before definition is a
// parse error too.
#include <cctype>
#include <charconv>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/scenario/scenario.h"

namespace uvmemu::scenario {
namespace {

struct Token {
  std::string text;
  bool quoted = false;
};

// Splits a line into words and "quoted strings"; `#` outside quotes
// starts a comment.  Fills `source` with the line without its comment.
absl::StatusOr<std::vector<Token>> Tokenize(const std::string& line,
                                            std::string& source) {
  std::vector<Token> tokens;
  size_t i = 0;
  size_t end_of_code = line.size();
  while (i < line.size()) {
    const char c = line[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      i++;
    } else if (c == '#') {
      end_of_code = i;
      break;
    } else if (c == '"') {
      Token t{"", true};
      i++;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          closed = true;
          i++;
          break;
        }
        if (line[i] == '\\' && i + 1 < line.size()) {
          const char e = line[i + 1];
          if (e == 'n')
            t.text += '\n';
          else if (e == '"' || e == '\\')
            t.text += e;
          else
            return absl::InvalidArgumentError(
                absl::StrCat("unknown escape \\", std::string(1, e),
                             " in a string (expected \\\", \\\\ or \\n)"));
          i += 2;
          continue;
        }
        t.text += line[i++];
      }
      if (!closed)
        return absl::InvalidArgumentError(
            "unterminated string (expected a closing \")");
      tokens.push_back(std::move(t));
    } else {
      Token t;
      while (i < line.size() &&
             !std::isspace(static_cast<unsigned char>(line[i])) &&
             line[i] != '#' && line[i] != '"')
        t.text += line[i++];
      tokens.push_back(std::move(t));
    }
  }
  source = line.substr(0, end_of_code);
  while (!source.empty() &&
         std::isspace(static_cast<unsigned char>(source.back())))
    source.pop_back();
  return tokens;
}

bool ParseNumber(const std::string& s, uint64_t& out) {
  const char* first = s.data();
  const char* last = s.data() + s.size();
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    first += 2;
    base = 16;
  }
  if (first == last) return false;
  auto [ptr, ec] = std::from_chars(first, last, out, base);
  return ec == std::errc() && ptr == last;
}

bool IsName(const std::string& s) {
  if (s.empty() ||
      !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_'))
    return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

std::string Quoted(const std::string& s) { return absl::StrCat("'", s, "'"); }

class LineParser {
 public:
  LineParser(std::set<std::string>& processes, std::set<std::string>& regions)
      : processes_(processes), regions_(regions) {}

  absl::Status Parse(const std::string& line, Command& cmd) {
    absl::StatusOr<std::vector<Token>> tokens = Tokenize(line, cmd.source);
    if (!tokens.ok()) return tokens.status();
    std::vector<Token>& t = *tokens;
    if (t.empty()) return absl::OkStatus();  // blank or comment
    size_t pos = 0;
    if (!t[0].quoted && t[0].text == "expect-error") {
      cmd.expect_error = true;
      pos = 1;
      if (t.size() == 1)
        return absl::InvalidArgumentError(
            "expected a command after expect-error");
    }
    const std::string& name = t[pos].text;
    for (const CommandSpec& spec : Commands())
      if (!t[pos].quoted && name == spec.name) cmd.spec = &spec;
    if (cmd.spec == nullptr) {
      std::vector<std::string> names;
      for (const CommandSpec& spec : Commands()) names.push_back(spec.name);
      return absl::InvalidArgumentError(
          absl::StrCat("unknown command ", Quoted(name),
                       " (expected one of: ", absl::StrJoin(names, ", "), ")"));
    }
    pos++;
    const auto& specs = cmd.spec->args;
    for (size_t a = 0; a < specs.size(); a++) {
      Value v;
      v.kind = specs[a].kind;
      if (specs[a].kind == ArgKind::kWords) {
        std::vector<std::string> words;
        for (; pos < t.size(); pos++) words.push_back(t[pos].text);
        v.word = absl::StrJoin(words, " ");
        v.present = true;
        cmd.args.push_back(std::move(v));
        continue;
      }
      if (pos == t.size()) {
        if (specs[a].optional) {
          cmd.args.push_back(std::move(v));
          continue;
        }
        return absl::InvalidArgumentError(absl::StrCat(
            cmd.spec->name, ": missing ", specs[a].name, " (expected ",
            Expected(specs[a]), "; usage: ", Usage(*cmd.spec), ")"));
      }
      if (absl::Status s = ParseArg(specs[a], t[pos], v); !s.ok())
        return absl::InvalidArgumentError(absl::StrCat(
            cmd.spec->name, ": ", s.message(), "; usage: ", Usage(*cmd.spec)));
      v.present = true;
      cmd.args.push_back(std::move(v));
      pos++;
    }
    if (pos < t.size())
      return absl::InvalidArgumentError(absl::StrCat(
          cmd.spec->name, ": unexpected ", Quoted(t[pos].text),
          " (expected the end of the line; usage: ", Usage(*cmd.spec), ")"));
    // Definitions take effect once the whole line is good.
    for (const Value& v : cmd.args) {
      if (v.kind == ArgKind::kNewProcess) processes_.insert(v.word);
      if (v.kind == ArgKind::kNewRegion) regions_.insert(v.word);
    }
    return absl::OkStatus();
  }

 private:
  static std::string Expected(const ArgSpec& spec) {
    switch (spec.kind) {
      case ArgKind::kProcess:
        return "the name of a spawned or forked process";
      case ArgKind::kNewProcess:
        return "a new process name";
      case ArgKind::kNewRegion:
        return "a new region name";
      case ArgKind::kAddress:
        return "an address: REGION, REGION+PAGE or a number such as 0x1000";
      case ArgKind::kPages:
        return "a number of pages (1 or more, below 2^40)";
      case ArgKind::kCount:
        return "a number";
      case ArgKind::kProt:
        return "a protection: none, r, w or rw";
      case ArgKind::kInherit:
        return "an inheritance: share, copy or none";
      case ArgKind::kSharing:
        return "shared or private";
      case ArgKind::kText:
        return "a word or a \"quoted string\"";
      case ArgKind::kFile:
        return "a file name";
      case ArgKind::kWords:
        return "words";
    }
    return "?";
  }

  absl::Status ParseArg(const ArgSpec& spec, const Token& tok, Value& v) {
    const std::string& s = tok.text;
    auto bad = [&](const std::string& why = "") {
      return absl::InvalidArgumentError(
          absl::StrCat("expected ", Expected(spec), " for ", spec.name,
                       ", got ", Quoted(s), why));
    };
    switch (spec.kind) {
      case ArgKind::kProcess:
        if (!IsName(s)) return bad();
        if (!processes_.contains(s))
          return bad(" (no such process: spawn or fork it first)");
        v.word = s;
        return absl::OkStatus();
      case ArgKind::kNewProcess:
      case ArgKind::kNewRegion: {
        if (!IsName(s)) return bad();
        const bool taken = spec.kind == ArgKind::kNewProcess
                               ? processes_.contains(s)
                               : regions_.contains(s);
        if (taken) return bad(" (the name is already in use)");
        v.word = s;
        return absl::OkStatus();
      }
      case ArgKind::kAddress: {
        if (ParseNumber(s, v.address.va)) return absl::OkStatus();
        const size_t plus = s.find('+');
        v.address.region = s.substr(0, plus);
        if (!IsName(v.address.region)) return bad();
        if (!regions_.contains(v.address.region))
          return bad(" (no such region: map it first)");
        if (plus != std::string::npos &&
            !ParseNumber(s.substr(plus + 1), v.address.page))
          return bad(" (the page after '+' is not a number)");
        return absl::OkStatus();
      }
      case ArgKind::kPages:
        // below 2^40 pages, so that a length in bytes cannot wrap
        if (!ParseNumber(s, v.number) || v.number == 0 ||
            v.number >= (uint64_t{1} << 40))
          return bad();
        return absl::OkStatus();
      case ArgKind::kCount:
        if (!ParseNumber(s, v.number)) return bad();
        return absl::OkStatus();
      case ArgKind::kProt: {
        static const std::map<std::string, uint64_t> kProts = {
            {"none", 0}, {"-", 0},   {"---", 0}, {"r", 1},
            {"r-", 1},   {"r--", 1}, {"w", 2},   {"-w", 2},
            {"-w-", 2},  {"rw", 3},  {"rw-", 3}};
        auto it = kProts.find(s);
        if (it == kProts.end()) return bad();
        v.word = s;
        v.number = it->second;
        return absl::OkStatus();
      }
      case ArgKind::kInherit:
        if (s != "share" && s != "copy" && s != "none") return bad();
        v.word = s;
        return absl::OkStatus();
      case ArgKind::kSharing:
        if (s != "shared" && s != "private") return bad();
        v.word = s;
        return absl::OkStatus();
      case ArgKind::kText:
      case ArgKind::kFile:
        if (s.empty() && spec.kind == ArgKind::kFile) return bad();
        v.word = s;
        return absl::OkStatus();
      case ArgKind::kWords:
        break;
    }
    return bad();
  }

  std::set<std::string>& processes_;
  std::set<std::string>& regions_;
};

}  // namespace

std::string Usage(const CommandSpec& spec) {
  std::string out = spec.name;
  for (const ArgSpec& a : spec.args) {
    absl::StrAppend(
        &out, " ", a.optional || a.kind == ArgKind::kWords ? "[" : "", a.name,
        a.kind == ArgKind::kWords ? "...]" : "", a.optional ? "]" : "");
  }
  return out;
}

absl::StatusOr<std::vector<Command>> Parse(std::istream& script,
                                           const std::string& name) {
  std::set<std::string> processes, regions;
  LineParser parser(processes, regions);
  std::vector<Command> commands;
  std::vector<std::string> errors;
  std::string line;
  for (int number = 1; std::getline(script, line); number++) {
    Command cmd;
    cmd.line = number;
    if (absl::Status s = parser.Parse(line, cmd); !s.ok()) {
      errors.push_back(
          absl::StrCat(name, ":", number, ": error: ", s.message()));
      continue;
    }
    if (cmd.spec != nullptr) commands.push_back(std::move(cmd));
  }
  if (!errors.empty())
    return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  return commands;
}

}  // namespace uvmemu::scenario
