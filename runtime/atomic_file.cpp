// Atomic file output (temp file in the same folder, fsync, rename, folder fsync); see runtime/atomic_file.h.
#include "runtime/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "runtime/error.h"

namespace dg {

namespace {
std::string parent_dir(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}
}  // namespace

void fsync_parent_dir(const std::string& path) noexcept {
  const int dfd = ::open(parent_dir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return;
  (void)::fsync(dfd);
  ::close(dfd);
}

AtomicFile::AtomicFile(std::string path, size_t buffer_bytes)
    : path_(std::move(path)), temp_(path_ + ".tmp-" + std::to_string(::getpid())) {
  DG_REQUIRE(!path_.empty(), "output path is empty");
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    const int err = errno;
    fail("cannot create temp file ", temp_, " for ", path_, ": ", std::strerror(err));
  }
  buf_.resize(buffer_bytes > 0 ? buffer_bytes : 1);
}

AtomicFile::~AtomicFile() { abandon(); }

void AtomicFile::abandon() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!committed_ && !temp_.empty()) {
    ::unlink(temp_.c_str());
    temp_.clear();
  }
}

void AtomicFile::fail_io(const char* what, int err) {
  const std::string temp = temp_;
  abandon();
  fail("cannot write ", path_, " (", what, " of temp file ", temp, " failed: ", std::strerror(err), ")");
}

void AtomicFile::flush() {
  size_t off = 0;
  while (off < used_) {
    const ssize_t w = ::write(fd_, buf_.data() + off, used_ - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail_io("write", errno);
    }
    off += size_t(w);
  }
  used_ = 0;
}

void AtomicFile::write(const void* data, size_t n) {
  DG_REQUIRE(fd_ >= 0 && !committed_, "write to ", path_, " after it was committed or abandoned");
  const uint8_t* p = static_cast<const uint8_t*>(data);
  written_ += n;
  while (n > 0) {
    if (used_ == buf_.size()) flush();
    const size_t take = std::min(n, buf_.size() - used_);
    std::memcpy(buf_.data() + used_, p, take);
    used_ += take;
    p += take;
    n -= take;
  }
}

void AtomicFile::commit() {
  DG_REQUIRE(fd_ >= 0 && !committed_, "commit of ", path_, " after it was committed or abandoned");
  flush();
  if (::fsync(fd_) != 0) fail_io("fsync", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail_io("close", errno);
  if (::rename(temp_.c_str(), path_.c_str()) != 0) fail_io("rename", errno);
  committed_ = true;
  fsync_parent_dir(path_);
}

}  // namespace dg
