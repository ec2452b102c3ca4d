#include "evidence/files.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "evidence/signing_key.h"

namespace pveaudit {

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return HexBytes(md, len);
}

// SHA-256 of a whole file, streamed (an events file can be gigabytes).
Result<std::string> Sha256File(const std::string& path, uint64_t* bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("is missing");
    return Status::IOError(std::string("cannot be read: ") + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::IOError("is not a regular file");
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::string buf(1 << 20, '\0');
  ssize_t n;
  uint64_t total = 0;
  while ((n = ::read(fd, buf.data(), buf.size())) > 0) {
    EVP_DigestUpdate(ctx, buf.data(), size_t(n));
    total += uint64_t(n);
  }
  int err = n < 0 ? errno : 0;
  ::close(fd);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  if (err) return Status::IOError(std::string("cannot be read: ") + std::strerror(err));
  if (bytes) *bytes = total;
  return HexBytes(md, len);
}

Result<std::string> ReadBoundedFile(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("is missing");
    return Status::IOError(std::string("cannot be read: ") + std::strerror(errno));
  }
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) {
    out.append(buf, size_t(n));
    if (out.size() > max_bytes) {
      ::close(fd);
      return Status::Corruption("is larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  ::close(fd);
  if (n < 0) return Status::IOError(std::string("cannot be read: ") + std::strerror(errno));
  return out;
}

Status WriteWhole(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::IOError("cannot create " + path + ": " + std::strerror(errno));
  bool ok = ::write(fd, data.data(), data.size()) == ssize_t(data.size()) && ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok) return Status::IOError("cannot write " + path + ": " + std::strerror(err));
  return Status::OK();
}

void FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// `s` with control characters shown as '?': names and lines from a bundle
// someone else handed over never reach the terminal as escape sequences.
std::string Printable(std::string s) {
  for (char& c : s)
    if ((unsigned char)c < 0x20 || c == 0x7f) c = '?';
  return s;
}

}  // namespace pveaudit
