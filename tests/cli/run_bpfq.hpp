#pragma once
// Runs the built bpfq binary as a user would and captures what they see.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace bpfq::test {

struct Outcome {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Under `timeout`: a run that hangs ends with 124 (or -1 once killed) and fails its test.
inline Outcome run_bpfq(const std::string& args, bool with_stderr = true, const std::string& env = {}) {
  const std::string command = (env.empty() ? "" : "env " + env + " ") + "timeout -k 5 120 " +
                              std::string(BPFQ_CLI) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null");
  Outcome o;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return o;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) o.output.append(buf, n);
  const int status = pclose(pipe);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

// With `env` ("NAME=value") in the environment.
inline Outcome run_bpfq_env(const std::string& env, const std::string& args) { return run_bpfq(args, true, env); }

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Writes text to a file in a folder of this test process (ctest runs tests in parallel, so a
// shared name in the temp dir would be overwritten by another test) and returns its path.
inline std::string write_temp(const std::string& name, const std::string& text) {
  const std::string dir = ::testing::TempDir() + "bpfq-cli-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace bpfq::test
