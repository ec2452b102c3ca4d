#include "pipeline/line_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pveaudit {

namespace {
constexpr size_t kChunk = 1 << 20;

// zlib's message for a gzdopen'ed file starts "<fd:N>: "; the caller names
// the file itself.
std::string ZlibMessage(gzFile gz, int* err) {
  std::string m = gzerror(gz, err);
  if (m.compare(0, 4, "<fd:") == 0) {
    size_t p = m.find(">: ");
    if (p != std::string::npos) m.erase(0, p + 3);
  }
  return m;
}
}  // namespace

LineReader::~LineReader() {
  if (gz_)
    gzclose(gz_);
  else if (fd_ >= 0)
    close(fd_);
}

Status LineReader::Open(const std::string& path, const std::string& display) {
  path_ = display.empty() ? path : display;
  fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return Status::IOError("cannot open " + path_ + ": " + std::strerror(errno));
  struct stat st;
  if (fstat(fd_, &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return Status::InvalidArgument(path_ + " is a directory, not a log file");
    file_size_ = uint64_t(st.st_size);
    dev_ = uint64_t(st.st_dev);
    ino_ = uint64_t(st.st_ino);
  }
  unsigned char magic[2] = {0, 0};
  ssize_t n = pread(fd_, magic, 2, 0);
  if (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    gz_ = gzdopen(fd_, "rb");
    if (!gz_) return Status::IOError("cannot read " + path_ + " as gzip");
    gzbuffer(gz_, 1 << 18);
  }
  buf_.resize(kChunk * 2);
  return Status::OK();
}

bool LineReader::ReadAt(uint64_t pos, size_t n, std::string* out) const {
  if (gz_ || fd_ < 0) return false;
  out->resize(n);
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(fd_, out->data() + got, n - got, off_t(pos + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    got += size_t(r);
  }
  return true;
}

uint64_t LineReader::disk_position() const {
  if (gz_) return uint64_t(gzoffset(gz_));
  return raw_read_;
}

bool LineReader::Fill() {
  if (eof_) return false;
  // Move the unread rest to the front, grow if one line fills the buffer.
  if (start_ > 0) {
    std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
  }
  if (buf_.size() - end_ < kChunk / 2) buf_.resize(buf_.size() * 2);
  size_t room = buf_.size() - end_;
  ssize_t n;
  if (gz_) {
    n = gzread(gz_, buf_.data() + end_, unsigned(room));
    if (n < 0) {
      int err = 0;
      status_ = Status::IOError("cannot decompress " + path_ + ": " + ZlibMessage(gz_, &err));
      eof_ = true;
      return false;
    }
  } else {
    do n = read(fd_, buf_.data() + end_, room);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
      status_ = Status::IOError("cannot read " + path_ + ": " + std::strerror(errno));
      eof_ = true;
      return false;
    }
    raw_read_ += uint64_t(n);
  }
  if (n == 0) {
    // A truncated gzip file ends without an error from gzread; zlib
    // records "unexpected end of file" (Z_BUF_ERROR) instead.
    int err = Z_OK;
    std::string msg = gz_ ? ZlibMessage(gz_, &err) : std::string();
    if (gz_ && err != Z_OK) status_ = Status::Corruption("cannot decompress " + path_ + ": " + msg);
    eof_ = true;
    return false;
  }
  end_ += size_t(n);
  return true;
}

bool LineReader::Next(std::string_view* line) {
  while (true) {
    const char* b = buf_.data() + start_;
    const void* nl = std::memchr(b, '\n', end_ - start_);
    if (nl) {
      size_t len = size_t(static_cast<const char*>(nl) - b);
      *line = std::string_view(b, len);
      if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
      crc_ = uint32_t(crc32_z(crc_, reinterpret_cast<const Bytef*>(b), len + 1));
      start_ += len + 1;
      offset_ += len + 1;
      return true;
    }
    if (!Fill()) {
      if (end_ > start_ && status_.ok() && !complete_only_) {  // last line without newline
        size_t len = end_ - start_;
        *line = std::string_view(buf_.data() + start_, len);
        crc_ = uint32_t(crc32_z(crc_, reinterpret_cast<const Bytef*>(line->data()), len));
        start_ = end_;
        offset_ += len;
        return true;
      }
      return false;
    }
  }
}

Status LineReader::SkipTo(uint64_t offset) {
  if (!gz_ && offset_ == 0 && start_ == end_) {
    // Plain file: seek instead of reading what is skipped (a tailer resumes
    // deep into large files many times a second).
    if (lseek(fd_, off_t(offset), SEEK_SET) < 0)
      return Status::IOError("cannot seek in " + path_ + ": " + std::strerror(errno));
    offset_ = raw_read_ = offset;
    return Status::OK();
  }
  while (offset_ < offset) {
    size_t avail = end_ - start_;
    uint64_t want = offset - offset_;
    if (avail >= want) {
      start_ += size_t(want);
      offset_ = offset;
      break;
    }
    start_ = end_;
    offset_ += avail;
    if (!Fill()) break;
  }
  return status_;
}

}  // namespace pveaudit
