#include <bpfq/io/live/control_socket.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <nlohmann/json.hpp>

#include <bpfq/error.hpp>

namespace bpfq::io::live {
namespace {

constexpr const char* kRunDir = "/run/bpfq";
// A request is one tc line: far below this. An answer (a map dump) may be large.
constexpr size_t kMaxRequestBytes = 64 * 1024;
constexpr size_t kMaxAnswerBytes = 256 * 1024 * 1024;
// How long the datapath waits for a client to finish its request.
constexpr int kRequestWaitMs = 200;
// How long a client waits for the answer: a replace loads and verifies programs first.
constexpr int kAnswerWaitMs = 30'000;

sockaddr_un address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path)
    throw Error("control socket path " + path + " is too long", "bpfq live", "a shorter interface name");
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

// Reads until the peer shuts down its side, for at most wait_ms in all. False on a timeout, an
// error or more than max_bytes.
bool read_all(int fd, std::string& out, int wait_ms, size_t max_bytes) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  char buf[4096];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return true;
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      if (out.size() > max_bytes) return false;
      continue;
    }
    if (errno != EAGAIN && errno != EINTR) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    poll(&p, 1, static_cast<int>(left.count()));
  }
}

bool write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// A connected client socket to path, or -1 (errno says why).
int connect_to(const std::string& path) {
  const sockaddr_un a = address(path);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    const int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

}  // namespace

std::string control_path(const std::string& ifname) { return std::string(kRunDir) + "/" + ifname + ".sock"; }

ControlSocket::ControlSocket(std::string path) : path_(std::move(path)) {
  const sockaddr_un a = address(path_);
  mkdir(path_.substr(0, path_.rfind('/')).c_str(), 0700);  // /run/bpfq on first use
  if (const int other = connect_to(path_); other >= 0) {
    close(other);
    throw Error("another bpfq live answers on " + path_, "bpfq live", "one instance per interface: stop the other first");
  }
  unlink(path_.c_str());  // left by an instance that was killed
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) throw Error(std::string("socket: ") + std::strerror(errno), "control socket " + path_);
  const mode_t old_mask = umask(0077);  // the file is root's alone from its creation on
  const bool bound = bind(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  const int e = errno;
  umask(old_mask);
  if (!bound || listen(fd_, 8) != 0) {
    close(fd_);
    throw Error(std::string("bind/listen: ") + std::strerror(bound ? errno : e), "control socket " + path_,
                "bpfq live needs root to create " + std::string(kRunDir));
  }
}

ControlSocket::~ControlSocket() {
  close(fd_);
  unlink(path_.c_str());
}

void ControlSocket::serve_one(const std::function<std::string(const std::string&)>& handler) {
  const int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (client < 0) return;
  ucred peer{};
  socklen_t len = sizeof peer;
  std::string request;
  if (getsockopt(client, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0 || peer.uid != 0) {
    write_all(client, nlohmann::json{{"error", "the control socket of bpfq live is root's only"}}.dump());
  } else if (!read_all(client, request, kRequestWaitMs, kMaxRequestBytes)) {
    write_all(client, nlohmann::json{{"error", "the request did not arrive in time or was too large"}}.dump());
  } else {
    timeval timeout{1, 0};  // a client that stops reading does not hold the datapath
    setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    write_all(client, handler(request));
  }
  close(client);
}

std::string ControlSocket::ask(const std::string& path, const std::string& request) {
  const int fd = connect_to(path);
  if (fd < 0)
    throw Error(std::string("no bpfq live answers on ") + path + " (" + std::strerror(errno) + ")", "bpfq",
                "start `bpfq live IF1 IF2` first; its control socket needs root");
  std::string answer;
  const bool ok = write_all(fd, request) && shutdown(fd, SHUT_WR) == 0 && read_all(fd, answer, kAnswerWaitMs, kMaxAnswerBytes);
  close(fd);
  if (!ok) throw Error("the bpfq live on " + path + " did not answer", "bpfq", "is it busy or stopped?");
  return answer;
}

}  // namespace bpfq::io::live
