#pragma once
// The local control socket of a running `bpfq live` (docs/live.md): a UNIX stream socket that
// only root may use (the file is mode 0600 and each peer's credentials must say uid 0). One
// request per connection: the client writes its request and shuts down its side; the server
// answers and closes.
//
//   ControlSocket sock("/run/bpfq/eth1.sock");          // in bpfq live
//   bridge.watch(sock.fd(), [&] { sock.serve_one(handle); return false; });
//   std::string reply = ControlSocket::ask(path, req);   // in the client
#include <functional>
#include <string>

namespace bpfq::io::live {

class ControlSocket {
 public:
  // Listens at path, creating its directory. A socket file nobody answers on (left by a killed
  // instance) is replaced; one a running instance answers on is a bpfq::Error.
  explicit ControlSocket(std::string path);
  ~ControlSocket();  // removes the file
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  const std::string& path() const { return path_; }
  int fd() const { return fd_; }

  // Accepts one waiting client and answers handler(request). A client that is not root, or
  // that does not finish its request within the time limit, is answered {"error": "..."} and
  // dropped: the datapath never waits long for a client.
  void serve_one(const std::function<std::string(const std::string& request)>& handler);

  // The client: sends request to the instance at path and returns its answer. bpfq::Error if
  // nothing listens there or it does not answer in time.
  static std::string ask(const std::string& path, const std::string& request);

 private:
  std::string path_;
  int fd_ = -1;
};

// Where `bpfq live` listens for the interface ifname: /run/bpfq/IFNAME.sock.
std::string control_path(const std::string& ifname);

}  // namespace bpfq::io::live
