// The scenario runner (tools/scenario): parsing errors name the line and
// what was expected; runs report API errors and go on.
#include "tools/scenario/scenario.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "uvmemu/kernel.h"

namespace uvmemu::scenario {
namespace {

std::string ParseError(const std::string& script) {
  std::istringstream in(script);
  absl::StatusOr<std::vector<Command>> parsed = Parse(in, "t");
  return parsed.ok() ? "" : std::string(parsed.status().message());
}

int RunScript(const std::string& script, std::string& out) {
  std::istringstream in(script);
  std::ostringstream os;
  const int status =
      Run(in, "t", os, {.show_state = false, .show_trace = false});
  out = os.str();
  return status;
}

TEST(ScenarioParseTest, Parse_GoodScript_Commands) {
  std::istringstream in(
      "# comment\n\nspawn P\nmap P buf 4 rw shared # trailing\n"
      "write P buf+1 \"a \\\"b\\\"\"\nexpect-error read P 0x1000 8\n");
  absl::StatusOr<std::vector<Command>> parsed = Parse(in, "t");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 4u);
  EXPECT_EQ((*parsed)[1].line, 4);
  EXPECT_EQ((*parsed)[1].source, "map P buf 4 rw shared");
  EXPECT_EQ((*parsed)[1].args[3].number, 3u);
  EXPECT_EQ((*parsed)[2].args[1].address.region, "buf");
  EXPECT_EQ((*parsed)[2].args[1].address.page, 1u);
  EXPECT_EQ((*parsed)[2].args[2].word, "a \"b\"");
  EXPECT_TRUE((*parsed)[3].expect_error);
  EXPECT_EQ((*parsed)[3].args[1].address.va, 0x1000u);
}

TEST(ScenarioParseTest, Parse_UnknownCommand_ListsCommands) {
  EXPECT_EQ(
      ParseError("spawn P\nfrob P\n")
          .rfind("t:2: error: unknown command 'frob' (expected one of: ", 0),
      0u);
  EXPECT_NE(ParseError("frob\n").find("expected one of: spawn, map, fork"),
            std::string::npos);
}

TEST(ScenarioParseTest, Parse_MissingArgument_NamesItAndUsage) {
  EXPECT_EQ(ParseError("spawn P\nmap P buf 4\n"),
            "t:2: error: map: missing PROT (expected a protection: none, r, w "
            "or rw; usage: map PROC REGION PAGES PROT [SHARING])");
}

TEST(ScenarioParseTest, Parse_UndefinedProcess_SaysSpawnFirst) {
  EXPECT_EQ(ParseError("fork Q C\n"),
            "t:1: error: fork: expected the name of a spawned or forked "
            "process for PARENT, got 'Q' (no such process: spawn or fork it "
            "first); usage: fork PARENT CHILD");
}

TEST(ScenarioParseTest, Parse_BadArguments_EachReported) {
  const std::string err = ParseError(
      "spawn P\nspawn P\nmap P b 0 rw\nmap P b 2 rwx\nmap P b 1 rw\n"
      "read P c\nread P b+x\nwrite P b \"open\nread P b 1 2\n");
  EXPECT_NE(err.find("t:2: error: spawn: expected a new process name for NAME, "
                     "got 'P' (the name is already in use)"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("t:3: error: map: expected a number of pages (1 or "
                     "more, below 2^40) for PAGES, got '0'"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("t:4: error: map: expected a protection"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("t:6: error: read: expected an address: REGION, "
                     "REGION+PAGE or a number such as 0x1000 for ADDR, got 'c' "
                     "(no such region: map it first)"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("t:7: error: read: expected an address"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("t:8: error: unterminated string (expected a closing \")"),
            std::string::npos)
      << err;
  EXPECT_NE(
      err.find("t:9: error: read: unexpected '2' (expected the end of the "
               "line; usage: read PROC ADDR [BYTES])"),
      std::string::npos)
      << err;
  EXPECT_EQ(err.find("t:5:"), std::string::npos) << err;
}

TEST(ScenarioParseTest, Parse_HugePageCount_RejectedBeforeBytesWrap) {
  EXPECT_NE(ParseError("spawn P\nmap P b 1099511627776 rw\n")
                .find("t:2: error: map: expected a number of pages"),
            std::string::npos);
  EXPECT_EQ(ParseError("spawn P\nmap P b 1099511627775 rw\n"), "");
}

TEST(ScenarioRunTest, Run_MalformedScript_NothingRunsStatus2) {
  std::string out;
  EXPECT_EQ(RunScript("spawn P\nfork P\n", out), 2);
  EXPECT_EQ(out.find("1: spawn P"), std::string::npos) << out;
  EXPECT_NE(out.find("t:2: error: fork: missing CHILD"), std::string::npos)
      << out;
}

TEST(ScenarioRunTest, Run_ApiErrors_ReportedAndScriptGoesOn) {
  std::string out;
  EXPECT_EQ(
      RunScript("spawn P\nmap P b 1 r\nwrite P b \"x\"\nexit P\nexit P\n", out),
      1);
  EXPECT_NE(out.find("3: write P b \"x\"\n   error: "), std::string::npos)
      << out;
  EXPECT_NE(out.find("4: exit P\n   -> P exited\n"), std::string::npos) << out;
  EXPECT_NE(out.find("5: exit P\n   error: FAILED_PRECONDITION"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("t: 5 commands, 2 failed"), std::string::npos) << out;
  EXPECT_TRUE(Kernel::CheckNoLeaks().ok());
}

TEST(ScenarioRunTest, Run_ExpectError_SucceedsOnlyWhenTheCommandFails) {
  std::string out;
  EXPECT_EQ(RunScript("spawn P\nmap P b 1 r\nexpect-error write P b x\n", out),
            0)
      << out;
  EXPECT_EQ(RunScript("spawn P\nmap P b 1 rw\nexpect-error write P b x\n", out),
            1)
      << out;
  EXPECT_NE(out.find("expected this command to fail, but it succeeded"),
            std::string::npos);
}

TEST(ScenarioRunTest, Run_ForkCow_ExpectationsHold) {
  std::string out;
  EXPECT_EQ(RunScript("spawn P\nmap P b 2 rw\nwrite P b \"p\"\nfork P C\n"
                      "write C b \"c\"\nexpect P b \"p\"\nexpect C b \"c\"\n"
                      "expect C b \"p\"\n",
                      out),
            1);
  EXPECT_NE(out.find("8: expect C b \"p\"\n   error: FAILED_PRECONDITION: read "
                     "\"c\" at 0x"),
            std::string::npos)
      << out;
}

TEST(ScenarioRunTest, Run_PageOutsideRegion_IsError) {
  std::string out;
  EXPECT_EQ(RunScript("spawn P\nmap P b 2 rw\nread P b+2\n", out), 1);
  EXPECT_NE(out.find("page 2 is outside region b (2 pages)"), std::string::npos)
      << out;
}

}  // namespace
}  // namespace uvmemu::scenario
