// Atomic file output: bytes go to "<path>.tmp-<pid>" in the same folder, which is fsynced and renamed onto
// <path> only by commit(); on any failure, or when destroyed uncommitted, the temp file is removed.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dg {

class AtomicFile {
 public:
  // Creates (truncates) the temp file; throws dg::Error naming both paths when that fails.
  explicit AtomicFile(std::string path, size_t buffer_bytes = size_t(1) << 20);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Buffered write. On failure the temp file is removed and dg::Error names the final path and errno.
  void write(const void* data, size_t n);
  // Flush, fsync, close, rename onto the final path, then fsync the folder (best effort).
  void commit();
  // Removes the temp file now (idempotent; also what the destructor does when uncommitted).
  void abandon() noexcept;

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_; }
  uint64_t bytes_written() const { return written_; }

 private:
  void flush();
  [[noreturn]] void fail_io(const char* what, int err);

  std::string path_, temp_;
  int fd_ = -1;
  bool committed_ = false;
  std::vector<uint8_t> buf_;
  size_t used_ = 0;
  uint64_t written_ = 0;
};

// fsyncs the folder that holds `path` so a rename inside it is durable; errors are ignored.
void fsync_parent_dir(const std::string& path) noexcept;

}  // namespace dg
