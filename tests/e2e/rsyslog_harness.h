// rsyslog_harness.h
// A real rsyslog for the export tests: rsyslogd from the Debian package
// (rsyslog, rsyslog-gnutls), started in the foreground with its own config,
// work dir and pid file, listening on loopback only: UDP, TCP and TLS
// (GnuTLS driver; the server asks for a client certificate signed by the
// test CA) on free ports, each writing what it receives to its own file
// with a raw template (the message as received, one per line). Test
// certificates are made at test time with the openssl command.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "e2e_util.h"

namespace e2e {

inline const char* kRsyslogd = "/usr/sbin/rsyslogd";

inline bool TcpAccepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(uint16_t(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

inline void SendUdp(int port, const std::string& msg) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(uint16_t(port));
  (void)sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  close(fd);
}

// Test PKI: a CA, a server certificate for 127.0.0.1 and a client
// certificate, all made now in `dir`.
struct TestPki {
  std::string ca, server_cert, server_key, client_cert, client_key;
  bool Make(const std::string& dir) {
    ca = dir + "/ca.pem";
    server_cert = dir + "/server.pem";
    server_key = dir + "/server.key";
    client_cert = dir + "/client.pem";
    client_key = dir + "/client.key";
    const std::string o = "/usr/bin/openssl";
    auto run = [](const std::string& cmd) {
      return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
    };
    std::string ext = dir + "/server.ext";
    WriteFile(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    std::string cext = dir + "/client.ext";
    WriteFile(cext, "extendedKeyUsage=clientAuth\n");
    return run(o +
               " req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=pveaudit-test-ca -keyout " +
               dir + "/ca.key -out " + ca) &&
           run(o + " req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout " + server_key +
               " -out " + dir + "/server.csr") &&
           run(o + " x509 -req -in " + dir + "/server.csr -CA " + ca + " -CAkey " + dir +
               "/ca.key -CAcreateserial -days 2 -extfile " + ext + " -out " + server_cert) &&
           run(o + " req -newkey rsa:2048 -nodes -subj /CN=pveauditd-client -keyout " + client_key +
               " -out " + dir + "/client.csr") &&
           run(o + " x509 -req -in " + dir + "/client.csr -CA " + ca + " -CAkey " + dir +
               "/ca.key -CAcreateserial -days 2 -extfile " + cext + " -out " + client_cert);
  }
};

class Rsyslog {
 public:
  ~Rsyslog() { Stop(); }
  // Starts rsyslogd in `dir` (which must exist). With `pki`, a TLS input too.
  bool Start(const std::string& dir, const TestPki* pki) {
    dir_ = dir;
    udp_port = FreePort(SOCK_DGRAM);
    tcp_port = FreePort(SOCK_STREAM);
    tls_port = pki ? FreePort(SOCK_STREAM) : 0;
    udp_file = dir + "/udp.log";
    tcp_file = dir + "/tcp.log";
    tls_file = dir + "/tls.log";
    std::filesystem::create_directories(dir + "/spool");
    std::string conf = "global(workDirectory=\"" + dir + "/spool\" maxMessageSize=\"64k\"";
    if (pki)
      conf += " defaultNetstreamDriverCAFile=\"" + pki->ca +
              "\" defaultNetstreamDriverCertFile=\"" + pki->server_cert +
              "\" defaultNetstreamDriverKeyFile=\"" + pki->server_key + "\"";
    conf += ")\n";
    conf +=
        "template(name=\"raw\" type=\"string\" string=\"%rawmsg%\\n\")\n"
        "module(load=\"imudp\")\nmodule(load=\"imtcp\" maxSessions=\"1000\")\n";
    auto ruleset = [&](const std::string& name, const std::string& file) {
      conf += "ruleset(name=\"" + name + "\") { action(type=\"omfile\" file=\"" + file +
              "\" template=\"raw\") }\n";
    };
    ruleset("udp", udp_file);
    ruleset("tcp", tcp_file);
    conf += "input(type=\"imudp\" address=\"127.0.0.1\" port=\"" + std::to_string(udp_port) +
            "\" ruleset=\"udp\")\n";
    conf += "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"" + std::to_string(tcp_port) +
            "\" ruleset=\"tcp\")\n";
    if (pki) {
      ruleset("tls", tls_file);
      conf += "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"" + std::to_string(tls_port) +
              "\" ruleset=\"tls\" streamDriver.name=\"gtls\" streamDriver.mode=\"1\" "
              "streamDriver.authMode=\"x509/certvalid\")\n";
    }
    WriteFile(dir + "/rsyslog.conf", conf);
    pid_ = SpawnQuiet(kRsyslogd,
                      {"rsyslogd", "-n", "-f", dir + "/rsyslog.conf", "-i", dir + "/rsyslogd.pid"},
                      {});
    if (pid_ <= 0) return false;
    // Ready when the stream ports accept and a UDP probe is written.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < until) {
      if (TcpAccepts(tcp_port) && (!pki || TcpAccepts(tls_port))) {
        SendUdp(udp_port, "<14>probe");
        if (Contains(ReadFile(udp_file), "probe")) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  void Stop() { StopProcess(&pid_, SIGTERM); }
  // Starts it again with the same config and ports.
  bool Restart() {
    Stop();
    pid_ = SpawnQuiet(
        kRsyslogd, {"rsyslogd", "-n", "-f", dir_ + "/rsyslog.conf", "-i", dir_ + "/rsyslogd.pid"},
        {});
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (pid_ > 0 && std::chrono::steady_clock::now() < until) {
      if (TcpAccepts(tcp_port)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  bool running() const { return pid_ > 0; }

  int udp_port = 0, tcp_port = 0, tls_port = 0;
  std::string udp_file, tcp_file, tls_file;

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

}  // namespace e2e
