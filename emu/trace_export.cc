// Trace::ChromeTraceJson: the UVMHIST ring as Chrome trace-event JSON
// (the "JSON Array/Object Format" that ui.perfetto.dev and
// chrome://tracing open).
//
// Everything in the file is a function of the records alone (sequence
// numbers for time, pointer names given in order of first use, LWPs in
// id order), so a replayed run exports byte-for-byte the same file.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "emu/hist_format.h"
#include "uvmemu/trace.h"

namespace uvmemu {
namespace {

constexpr int kPid = 1;  // the whole machine is one trace "process"

// A JSON string literal.  Bytes outside ASCII are escaped one by one
// (as Latin-1), so the output is valid UTF-8 whatever the input.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += "\"";
  return out;
}

bool IsCalled(const TraceRecord& r) {
  return r.format != nullptr && std::strcmp(r.format, "called!") == 0;
}

// The open slice of one LWP and the instants inside it (written after the
// slice, so a reader sees the parent before its children).
struct OpenSlice {
  const char* function = nullptr;
  const char* history = nullptr;
  uint64_t first = 0;
  uint64_t last = 0;
  bool called = false;
  std::vector<std::string> instants;
};

class Writer {
 public:
  // names: null for raw pointers.
  explicit Writer(PointerNames* names) : names_(names) {}

  void Add(const TraceRecord& r) {
    OpenSlice& open = open_[r.lwp];
    const char* fn = r.function != nullptr ? r.function : "?";
    if (open.function != nullptr &&
        (IsCalled(r) || std::strcmp(open.function, fn) != 0)) {
      Close(r.lwp, open);
    }
    if (open.function == nullptr) {
      open.function = fn;
      open.history = r.history != nullptr ? r.history : "?";
      open.first = r.seq;
      open.called = IsCalled(r);
    }
    open.last = r.seq;
    const std::string message =
        internal::FormatHistMessage(r.format, r.args, names_);
    open.instants.push_back(absl::StrCat(
        "{\"name\":", Quote(message), ",\"cat\":", Quote(open.history),
        ",\"ph\":\"i\",\"s\":\"t\",\"ts\":", r.seq, ",\"pid\":", kPid,
        ",\"tid\":", r.lwp, ",\"args\":{\"seq\":", r.seq,
        ",\"function\":", Quote(fn), "}}"));
  }

  std::string Finish() {
    for (auto& [lwp, open] : open_) {
      if (open.function != nullptr) Close(lwp, open);
    }
    std::string out = "{\"traceEvents\":[\n";
    std::vector<std::string> meta;
    meta.push_back(
        absl::StrCat("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":", kPid,
                     ",\"tid\":0,\"args\":{\"name\":\"uvmemu UVMHIST\"}}"));
    for (const auto& [lwp, open] : open_) {
      meta.push_back(absl::StrCat(
          "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":", kPid,
          ",\"tid\":", lwp, ",\"args\":{\"name\":\"lwp ", lwp, "\"}}"));
      meta.push_back(absl::StrCat(
          "{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":", kPid,
          ",\"tid\":", lwp, ",\"args\":{\"sort_index\":", lwp, "}}"));
    }
    bool first = true;
    for (const std::vector<std::string>* part : {&meta, &events_}) {
      for (const std::string& e : *part) {
        if (!first) out += ",\n";
        out += e;
        first = false;
      }
    }
    out +=
        "\n],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":{\"generator\":"
        "\"uvmemu Trace::ChromeTraceJson\",\"clock\":\"1 us = one UVMHIST "
        "record (logical time)\"}}\n";
    return out;
  }

 private:
  void Close(int lwp, OpenSlice& open) {
    events_.push_back(absl::StrCat(
        "{\"name\":", Quote(open.function), ",\"cat\":", Quote(open.history),
        ",\"ph\":\"X\",\"ts\":", open.first, ",\"dur\":",
        open.last - open.first + 1, ",\"pid\":", kPid, ",\"tid\":", lwp,
        ",\"args\":{\"first_seq\":", open.first, ",\"last_seq\":", open.last,
        ",\"called\":", open.called ? "true" : "false", "}}"));
    for (std::string& e : open.instants) events_.push_back(std::move(e));
    open = OpenSlice();
  }

  PointerNames* names_;
  std::map<int, OpenSlice> open_;  // by LWP id: a fixed order
  std::vector<std::string> events_;
};

}  // namespace

std::string Trace::ChromeTraceJson(const ChromeTraceOptions& options) {
  PointerNames fresh;
  Writer w(!options.stable_pointers   ? nullptr
           : options.names != nullptr ? options.names
                                      : &fresh);
  for (const TraceRecord& r : Tail(options.last_records)) w.Add(r);
  return w.Finish();
}

absl::Status Trace::WriteChromeTrace(const std::string& path,
                                     const ChromeTraceOptions& options) {
  const std::string json = ChromeTraceJson(options);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  out << json;
  out.close();
  if (!out) {
    return absl::InternalError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace uvmemu
