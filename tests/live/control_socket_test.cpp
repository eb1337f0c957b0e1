// The control socket of bpfq live: one request per connection answered by the handler, a
// client that never finishes its request cannot hold the server, a second instance on the same
// path is refused while a stale file from a killed one is replaced, and a client with nobody
// listening gets an error naming the path.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include <bpfq/error.hpp>
#include <bpfq/io/live/control_socket.hpp>

namespace bpfq::io::live {
namespace {

std::string temp_path(const char* name) { return "/tmp/bpfq-ctl-" + std::to_string(getpid()) + "-" + name + ".sock"; }

// Serves requests on sock from another thread until `requests` were answered.
std::thread serve(ControlSocket& sock, int requests) {
  return std::thread([&sock, requests] {
    for (int served = 0; served < requests;) {
      pollfd p{sock.fd(), POLLIN, 0};
      if (poll(&p, 1, 5000) <= 0) return;
      sock.serve_one([](const std::string& req) { return "echo:" + req; });
      ++served;
    }
  });
}

TEST(ControlSocket, AnswersEachRequestWithTheHandlersReply) {
  ControlSocket sock(temp_path("echo"));
  std::thread server = serve(sock, 2);
  EXPECT_EQ(ControlSocket::ask(sock.path(), "qdisc show"), "echo:qdisc show");
  EXPECT_EQ(ControlSocket::ask(sock.path(), std::string(10000, 'x')), "echo:" + std::string(10000, 'x'));
  server.join();
}

TEST(ControlSocket, AClientThatNeverFinishesItsRequestIsDroppedQuickly) {
  ControlSocket sock(temp_path("slow"));
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, sock.path().c_str());
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(write(fd, "half", 4), 4);  // and never shuts down its side
  const auto start = std::chrono::steady_clock::now();
  bool called = false;
  sock.serve_one([&](const std::string&) {
    called = true;
    return std::string();
  });
  EXPECT_FALSE(called);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  char buf[256] = {};
  ASSERT_GT(read(fd, buf, sizeof buf - 1), 0);
  EXPECT_NE(std::string(buf).find("did not arrive in time"), std::string::npos) << buf;
  close(fd);
}

TEST(ControlSocket, ASecondInstanceIsRefusedAndAStaleFileReplaced) {
  const std::string path = temp_path("twice");
  {
    ControlSocket first(path);
    try {
      ControlSocket second(path);
      ADD_FAILURE() << "a second instance bound " << path;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("another bpfq live answers on " + path), std::string::npos) << e.what();
    }
  }
  EXPECT_NE(access(path.c_str(), F_OK), 0) << "the file goes with the instance";
  // A file nobody answers on, as a SIGKILLed instance leaves it.
  const int stale = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, path.c_str());
  ASSERT_EQ(bind(stale, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  close(stale);
  ControlSocket again(path);
  std::thread server = serve(again, 1);
  EXPECT_EQ(ControlSocket::ask(path, "hi"), "echo:hi");
  server.join();
}

TEST(ControlSocket, OnlyRootMayUseIt) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root, to become another user";
  ControlSocket sock(temp_path("root"));
  const pid_t child = fork();
  if (child == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
    try {
      ControlSocket::ask(sock.path(), "qdisc replace dev eth0 root pfifo");
      _exit(1);
    } catch (const Error& e) {
      _exit(std::string(e.what()).find("Permission denied") != std::string::npos ? 0 : 2);
    }
  }
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: answered, 2: another error, 3: could not become nobody";
}

TEST(ControlSocket, AskingWhereNobodyListensNamesThePath) {
  const std::string path = temp_path("nobody");
  try {
    ControlSocket::ask(path, "qdisc show");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no bpfq live answers on " + path), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace bpfq::io::live
