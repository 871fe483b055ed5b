// Strict MNIST IDX readers (plain or gzip) and the MNIST split loader; see runtime/idx.h.
#include "runtime/idx.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "runtime/error.h"

namespace dg {

namespace {

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}
std::string hex8(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", v & 0xFFu);
  return buf;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Reads a plain file or a gzip stream (by its first two bytes) with the same interface.
class ByteSource {
 public:
  explicit ByteSource(const std::string& path) : path_(path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
      const int err = errno;
      fail(path, ": cannot open: ", std::strerror(err));
    }
    unsigned char head[2] = {0, 0};
    const size_t got = std::fread(head, 1, 2, f);
    gz_ = got == 2 && head[0] == 0x1f && head[1] == 0x8b;
    if (!gz_) {
      std::rewind(f);
      plain_ = f;
      struct stat st;
      if (::fstat(fileno(f), &st) == 0) plain_size_ = int64_t(st.st_size);
      return;
    }
    std::fclose(f);
    gzf_ = gzopen(path.c_str(), "rb");
    DG_REQUIRE(gzf_ != nullptr, path, ": cannot open gzip stream");
    gzbuffer(gzf_, 1u << 17);
  }
  ~ByteSource() {
    if (plain_) std::fclose(plain_);
    if (gzf_) gzclose(gzf_);
  }
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  bool gz() const { return gz_; }
  // Size on disk of a plain file (-1 for gzip).
  int64_t plain_size() const { return gz_ ? -1 : plain_size_; }

  // Reads up to n bytes; fewer only at the end of the data. A corrupt or truncated gzip stream throws.
  size_t read(void* dst, size_t n) {
    uint8_t* p = static_cast<uint8_t*>(dst);
    size_t total = 0;
    while (total < n) {
      if (!gz_) {
        const size_t got = std::fread(p + total, 1, n - total, plain_);
        total += got;
        if (got == 0) {
          DG_REQUIRE(!std::ferror(plain_), path_, ": read error: ", std::strerror(errno));
          break;
        }
        continue;
      }
      const unsigned chunk = unsigned(std::min<size_t>(n - total, size_t(1) << 30));
      const int got = gzread(gzf_, p + total, chunk);
      int err = Z_OK;
      const char* msg = gzerror(gzf_, &err);
      if (got < 0 || (err != Z_OK && err != Z_BUF_ERROR))
        fail(path_, ": corrupt gzip stream: ", msg ? msg : "unknown zlib error");
      if (err == Z_BUF_ERROR)
        fail(path_, ": truncated gzip stream (compressed data ends early: ", msg ? msg : "unexpected end of file",
             ")");
      total += size_t(got);
      if (got == 0) break;
    }
    return total;
  }

 private:
  std::string path_;
  bool gz_ = false;
  std::FILE* plain_ = nullptr;
  int64_t plain_size_ = -1;
  gzFile gzf_ = nullptr;
};

uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// Reads the magic and dimensions; checks magic, type code and number of dimensions.
std::vector<uint32_t> read_header(ByteSource& src, const std::string& path, int want_ndim, const char* what) {
  const uint32_t want_magic = 0x00000800u | uint32_t(want_ndim);
  uint8_t m[4];
  const size_t got = src.read(m, 4);
  DG_REQUIRE(got == 4, path, ": magic number: file has only ", got, " bytes, expected a 4-byte IDX magic ",
             hex32(want_magic), " (", what, ")");
  const uint32_t magic = be32(m);
  DG_REQUIRE(m[0] == 0 && m[1] == 0, path, ": magic number ", hex32(magic), ", expected ", hex32(want_magic), " (",
             what, "; an IDX magic starts with two zero bytes)");
  DG_REQUIRE(m[2] == 0x08, path, ": type code ", hex8(m[2]), " (magic ", hex32(magic),
             "), expected 0x08 (unsigned byte)");
  DG_REQUIRE(m[3] == want_ndim, path, ": number of dimensions ", int(m[3]), " (magic ", hex32(magic), "), expected ",
             want_ndim, " (magic ", hex32(want_magic), ", ", what, ")");
  std::vector<uint32_t> dims(static_cast<size_t>(want_ndim));
  uint8_t d[4];
  for (int i = 0; i < want_ndim; ++i) {
    const size_t g = src.read(d, 4);
    DG_REQUIRE(g == 4, path, ": header truncated in dimension ", i, " (file ends inside the ", 4 + 4 * want_ndim,
               "-byte header)");
    dims[size_t(i)] = be32(d);
  }
  return dims;
}

void check_dim(const std::string& path, int index, const char* name, uint32_t value, int64_t max) {
  DG_REQUIRE(value >= 1, path, ": dimension ", index, " (", name, ") is 0, expected at least 1");
  DG_REQUIRE(int64_t(value) <= max, path, ": dimension ", index, " (", name, ") is ", value,
             ", absurd: expected at most ", max);
}

// Reads exactly `expected` body bytes and checks that nothing follows them.
std::vector<uint8_t> read_body(ByteSource& src, const std::string& path, int64_t header_bytes, int64_t expected,
                               const std::string& shape_desc) {
  const int64_t size = src.plain_size();
  if (size >= 0) {
    DG_REQUIRE(size - header_bytes >= expected, path, ": body is ", size - header_bytes,
               " bytes, shorter than the header says: expected ", expected, " bytes (", shape_desc, ")");
    DG_REQUIRE(size - header_bytes <= expected, path, ": body is ", size - header_bytes,
               " bytes, longer than the header says: expected ", expected, " bytes (", shape_desc, "), ",
               size - header_bytes - expected, " trailing bytes");
  }
  std::vector<uint8_t> body;
  // Grown chunk by chunk: a gzip header's claimed size is not trusted for one large allocation.
  constexpr size_t kChunk = size_t(16) << 20;
  while (int64_t(body.size()) < expected) {
    const size_t take = size_t(std::min<int64_t>(expected - int64_t(body.size()), int64_t(kChunk)));
    const size_t old = body.size();
    body.resize(old + take);
    const size_t got = src.read(body.data() + old, take);
    DG_REQUIRE(got == take, path, ": body is ", old + got, " bytes, shorter than the header says: expected ",
               expected, " bytes (", shape_desc, ")");
  }
  uint8_t extra;
  DG_REQUIRE(src.read(&extra, 1) == 0, path, ": body is longer than the header says: expected ", expected,
             " bytes (", shape_desc, "), found trailing data");
  return body;
}

}  // namespace

IdxImages read_idx_images(const std::string& path) {
  ByteSource src(path);
  const auto dims = read_header(src, path, 3, "unsigned-byte images");
  check_dim(path, 0, "image count", dims[0], kIdxMaxCount);
  check_dim(path, 1, "rows", dims[1], kIdxMaxSide);
  check_dim(path, 2, "cols", dims[2], kIdxMaxSide);
  IdxImages out;
  out.count = dims[0];
  out.rows = int(dims[1]);
  out.cols = int(dims[2]);
  const int64_t bytes = out.count * out.rows * out.cols;
  DG_REQUIRE(bytes <= kIdxMaxImageBytes, path, ": dimensions ", out.count, "x", out.rows, "x", out.cols,
             " are absurd: ", bytes, " bytes, expected at most ", kIdxMaxImageBytes);
  out.pixels = read_body(src, path, 16, bytes,
                         std::to_string(out.count) + " images of " + std::to_string(out.rows) + "x" +
                             std::to_string(out.cols));
  return out;
}

std::vector<uint8_t> read_idx_labels(const std::string& path) {
  ByteSource src(path);
  const auto dims = read_header(src, path, 1, "unsigned-byte labels");
  check_dim(path, 0, "label count", dims[0], kIdxMaxCount);
  auto labels = read_body(src, path, 8, int64_t(dims[0]), std::to_string(dims[0]) + " labels");
  for (size_t i = 0; i < labels.size(); ++i)
    DG_REQUIRE(labels[i] <= 9, path, ": label at index ", i, " is ", int(labels[i]), ", expected 0..9");
  return labels;
}

MnistSplit load_mnist_split(const std::string& dir, bool train) {
  const std::string prefix = (dir.empty() ? std::string(".") : dir) + "/" + (train ? "train" : "t10k");
  auto locate = [&](const std::string& stem, const char* what) {
    if (file_exists(stem)) return stem;
    if (file_exists(stem + ".gz")) return stem + ".gz";
    fail("MNIST ", train ? "training" : "test", " ", what, " not found: looked for ", stem, " and ", stem,
         ".gz (run tools/fetch_mnist.sh to download MNIST, or point to the folder that holds it)");
  };
  const std::string img_path = locate(prefix + "-images-idx3-ubyte", "images");
  const std::string lbl_path = locate(prefix + "-labels-idx1-ubyte", "labels");
  MnistSplit split;
  split.images = read_idx_images(img_path);
  split.labels = read_idx_labels(lbl_path);
  DG_REQUIRE(int64_t(split.labels.size()) == split.images.count, "MNIST image and label counts differ: ", img_path,
             " has ", split.images.count, " images but ", lbl_path, " has ", split.labels.size(),
             " labels, expected equal counts");
  return split;
}

std::vector<float> idx_to_unit_float(const IdxImages& images) {
  std::vector<float> out(images.pixels.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = float(images.pixels[i]) / 255.0f;
  return out;
}

}  // namespace dg
