// Streaming atomic sample writers (.png grid, .idx, .npy) and the PNG digit reader; see runtime/image_io.h.
#include "runtime/image_io.h"

#include <png.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <csetjmp>
#include <cstring>

#include "runtime/atomic_file.h"
#include "runtime/error.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "npy and safetensors writers assume a little-endian host");

namespace dg {

uint8_t unit_to_byte(float v) {
  if (!(v > 0.0f)) return 0;  // also NaN
  if (v >= 1.0f) return 255;
  return uint8_t(std::lround(v * 255.0f));
}

namespace {

constexpr uint8_t kPngGapValue = 128;

std::string lower_ext(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string e = path.substr(dot);
  for (char& c : e) c = char(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

std::string stem_of(const std::string& path) { return path.substr(0, path.size() - lower_ext(path).size()); }

void put_be32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

// Shared bookkeeping: count against total_count, single use, the label-presence rule.
class WriterBase : public SampleWriter {
 protected:
  WriterBase(std::string path, int64_t total, int rows, int cols)
      : path_(std::move(path)), total_(total), rows_(rows), cols_(cols) {}

  // Validates a write() call before any byte of it is written.
  void begin_write(const float* images, const int32_t* labels, int64_t n) {
    DG_REQUIRE(!failed_, path_, ": write after an earlier failure");
    DG_REQUIRE(!finished_, path_, ": write after finish()");
    DG_REQUIRE(n >= 0, path_, ": write of a negative count ", n);
    DG_REQUIRE(n == 0 || images != nullptr, path_, ": write of ", n, " images from a null pointer");
    DG_REQUIRE(written_ + n <= total_, path_, ": image count: writing ", n, " more after ", written_,
               " exceeds the declared total ", total_);
    if (n == 0) return;
    const bool has = labels != nullptr;
    if (!labels_decided_) {
      labels_decided_ = true;
      has_labels_ = has;
    }
    DG_REQUIRE(has == has_labels_, path_, ": labels given in some write() calls but not in others");
    if (has)
      for (int64_t i = 0; i < n; ++i)
        DG_REQUIRE(labels[i] >= 0 && labels[i] <= 9, path_, ": label at index ", written_ + i, " is ", labels[i],
                   ", expected 0..9");
  }
  void begin_finish() {
    DG_REQUIRE(!failed_, path_, ": finish() after an earlier failure");
    DG_REQUIRE(!finished_, path_, ": finish() called twice");
    DG_REQUIRE(written_ == total_, path_, ": image count: ", written_, " images written, expected the declared total ",
               total_);
  }
  size_t pixels_per_image() const { return size_t(rows_) * size_t(cols_); }

  // Runs f; on any exception (a bad call included) marks the writer failed: its temp files are removed and
  // it can no longer be written or finished.
  template <typename F>
  void guarded(F&& f) {
    try {
      f();
    } catch (...) {
      failed_ = true;
      abandon_all();
      throw;
    }
  }
  virtual void abandon_all() noexcept = 0;

  std::string path_;
  int64_t total_;
  int rows_, cols_;
  int64_t written_ = 0;
  bool finished_ = false, failed_ = false;
  bool labels_decided_ = false, has_labels_ = false;
};

// An images file plus an optional labels file beside it (IDX and npy): both committed together or neither.
class ImagesAndLabelsWriter : public WriterBase {
 public:
  void finish() override {
    guarded([&] {
      begin_finish();
      images_->commit();
      if (labels_) labels_->commit();
    });
    finished_ = true;
  }

 protected:
  ImagesAndLabelsWriter(const std::string& path, int64_t total, int rows, int cols)
      : WriterBase(path, total, rows, cols), images_(std::make_unique<AtomicFile>(path)) {}
  void abandon_all() noexcept override {
    images_->abandon();
    if (labels_) labels_->abandon();
  }
  std::unique_ptr<AtomicFile> images_, labels_;
};

// ---------------------------------------------------------------- IDX

class IdxWriter final : public ImagesAndLabelsWriter {
 public:
  IdxWriter(const std::string& path, int64_t total, int rows, int cols)
      : ImagesAndLabelsWriter(path, total, rows, cols) {
    uint8_t h[16] = {0, 0, 0x08, 0x03};
    put_be32(h + 4, uint32_t(total));
    put_be32(h + 8, uint32_t(rows));
    put_be32(h + 12, uint32_t(cols));
    images_->write(h, sizeof h);
  }
  std::string labels_path() const { return stem_of(path_) + "-labels.idx"; }

  void write(const float* images, const int32_t* labels, int64_t n) override {
    guarded([&] {
      begin_write(images, labels, n);
      if (n == 0) return;
      if (has_labels_ && !labels_) {
        labels_ = std::make_unique<AtomicFile>(labels_path());
        uint8_t h[8] = {0, 0, 0x08, 0x01};
        put_be32(h + 4, uint32_t(total_));
        labels_->write(h, sizeof h);
      }
      const size_t per = pixels_per_image();
      row_.resize(per);
      for (int64_t i = 0; i < n; ++i) {
        const float* src = images + size_t(i) * per;
        for (size_t k = 0; k < per; ++k) row_[k] = unit_to_byte(src[k]);
        images_->write(row_.data(), per);
      }
      if (has_labels_) {
        std::vector<uint8_t> l(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) l[size_t(i)] = uint8_t(labels[i]);
        labels_->write(l.data(), l.size());
      }
      written_ += n;
    });
  }

 private:
  std::vector<uint8_t> row_;
};

// ---------------------------------------------------------------- NPY

// Version 1.0 header: magic, version, little-endian uint16 length, then a Python dict literal padded with
// spaces and ended by '\n' so that the data starts at a multiple of 64 bytes.
std::string npy_header(const char* descr, const std::string& shape) {
  std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t unpadded = 10 + dict.size() + 1;
  const size_t total = (unpadded + 63) / 64 * 64;
  dict.append(total - unpadded, ' ');
  dict.push_back('\n');
  DG_REQUIRE(dict.size() <= 65535, "npy header too long");
  std::string h = "\x93NUMPY";
  h.push_back(char(1));
  h.push_back(char(0));
  h.push_back(char(dict.size() & 0xFF));
  h.push_back(char(dict.size() >> 8));
  return h + dict;
}

class NpyWriter final : public ImagesAndLabelsWriter {
 public:
  NpyWriter(const std::string& path, int64_t total, int rows, int cols)
      : ImagesAndLabelsWriter(path, total, rows, cols) {
    const std::string h = npy_header(
        "<f4", "(" + std::to_string(total) + ", " + std::to_string(rows) + ", " + std::to_string(cols) + ")");
    images_->write(h.data(), h.size());
  }
  std::string labels_path() const { return stem_of(path_) + "-labels.npy"; }

  void write(const float* images, const int32_t* labels, int64_t n) override {
    guarded([&] {
      begin_write(images, labels, n);
      if (n == 0) return;
      if (has_labels_ && !labels_) {
        labels_ = std::make_unique<AtomicFile>(labels_path());
        const std::string h = npy_header("<i4", "(" + std::to_string(total_) + ",)");
        labels_->write(h.data(), h.size());
      }
      images_->write(images, size_t(n) * pixels_per_image() * sizeof(float));
      if (has_labels_) labels_->write(labels, size_t(n) * sizeof(int32_t));
      written_ += n;
    });
  }
};

// ---------------------------------------------------------------- PNG grid

// libpng reports errors by longjmp; every libpng call runs inside png_guarded(), whose frame holds no
// C++ objects, so the jump never skips a destructor. Messages are kept in the writer and rethrown.
using PngFn = void (*)(png_structp, png_infop, const void*);
bool png_guarded(png_structp png, png_infop info, PngFn fn, const void* arg) {
  if (setjmp(png_jmpbuf(png))) return false;
  fn(png, info, arg);
  return true;
}

class PngGridWriter final : public WriterBase {
 public:
  PngGridWriter(const std::string& path, int64_t total, int rows, int cols, int columns, int gap)
      : WriterBase(path, total, rows, cols), gap_(gap) {
    DG_REQUIRE(columns >= 0, path, ": PNG grid columns ", columns, ", expected >= 0 (0 = square grid)");
    DG_REQUIRE(gap >= 0 && gap <= 64, path, ": PNG grid gap ", gap, ", expected 0..64");
    if (columns == 0) {
      columns = int(std::ceil(std::sqrt(double(total))));
      while (int64_t(columns) * columns < total) ++columns;
      while (columns > 1 && int64_t(columns - 1) * (columns - 1) >= total) --columns;
    }
    columns_ = int(std::min<int64_t>(columns, total));
    grid_rows_ = (total + columns_ - 1) / columns_;
    const int64_t width = int64_t(columns_) * cols + int64_t(columns_ - 1) * gap;
    const int64_t height = grid_rows_ * rows + (grid_rows_ - 1) * gap;
    DG_REQUIRE(width <= 1000000 && height <= 1000000, path, ": PNG grid of ", total, " images in ", columns_,
               " columns would be ", width, "x", height, " pixels, over the PNG limit of 1000000 per side");
    width_ = int(width);
    height_ = int(height);
    band_.resize(size_t(rows) * size_t(width_));
    reset_band();

    file_ = std::make_unique<AtomicFile>(path);
    try {
      init_png();
    } catch (...) {
      destroy_png();
      throw;
    }
  }
  ~PngGridWriter() override { destroy_png(); }

 private:
  void init_png() {
    png_ = png_create_write_struct(PNG_LIBPNG_VER_STRING, this, &PngGridWriter::on_error, &PngGridWriter::on_warning);
    DG_REQUIRE(png_ != nullptr, path_, ": png_create_write_struct failed");
    info_ = png_create_info_struct(png_);
    DG_REQUIRE(info_ != nullptr, path_, ": png_create_info_struct failed");
    png_set_write_fn(png_, this, &PngGridWriter::on_write, &PngGridWriter::on_flush);
    const int dims[2] = {width_, height_};
    check(png_guarded(png_, info_,
                      [](png_structp p, png_infop i, const void* a) {
                        const int* d = static_cast<const int*>(a);
                        png_set_IHDR(p, i, png_uint_32(d[0]), png_uint_32(d[1]), 8, PNG_COLOR_TYPE_GRAY,
                                     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
                        png_write_info(p, i);
                      },
                      dims));
  }

 public:
  void write(const float* images, const int32_t* /*labels*/, int64_t n) override {
    guarded([&] {
      begin_write(images, nullptr, n);  // labels have no place in a picture
      const size_t per = pixels_per_image();
      for (int64_t i = 0; i < n; ++i) {
        const int cell = int(written_ % columns_);
        const float* src = images + size_t(i) * per;
        for (int r = 0; r < rows_; ++r) {
          uint8_t* dst = band_.data() + size_t(r) * width_ + size_t(cell) * (cols_ + gap_);
          for (int c = 0; c < cols_; ++c) dst[c] = unit_to_byte(src[size_t(r) * cols_ + c]);
        }
        ++written_;
        if (cell == columns_ - 1) emit_band();
      }
    });
  }
  void finish() override {
    guarded([&] {
      begin_finish();
      if (written_ % columns_ != 0) emit_band();
      check(png_guarded(png_, info_, [](png_structp p, png_infop i, const void*) { png_write_end(p, i); }, nullptr));
      destroy_png();
      file_->commit();
    });
    finished_ = true;
  }

 private:
  void reset_band() {
    std::fill(band_.begin(), band_.end(), kPngGapValue);
    for (int r = 0; r < rows_; ++r)
      for (int cell = 0; cell < columns_; ++cell)
        std::fill_n(band_.begin() + ptrdiff_t(size_t(r) * width_ + size_t(cell) * (cols_ + gap_)), cols_, uint8_t(0));
  }
  void emit_row(const uint8_t* row) {
    check(png_guarded(png_, info_,
                      [](png_structp p, png_infop, const void* a) {
                        png_write_row(p, static_cast<png_const_bytep>(a));
                      },
                      row));
  }
  void emit_band() {
    if (bands_emitted_ > 0 && gap_ > 0) {
      gap_row_.assign(size_t(width_), kPngGapValue);
      for (int g = 0; g < gap_; ++g) emit_row(gap_row_.data());
    }
    for (int r = 0; r < rows_; ++r) emit_row(band_.data() + size_t(r) * width_);
    ++bands_emitted_;
    reset_band();
  }
  void check(bool ok) {
    if (!ok) {
      const std::string msg = error_.empty() ? std::string("libpng error") : error_;
      fail(path_, ": cannot write PNG: ", msg);
    }
  }
  void destroy_png() noexcept {
    if (png_) png_destroy_write_struct(&png_, &info_);
    png_ = nullptr;
    info_ = nullptr;
  }
  void abandon_all() noexcept override {
    destroy_png();
    if (file_) file_->abandon();
  }

  static void on_error(png_structp png, png_const_charp msg) {
    auto* self = static_cast<PngGridWriter*>(png_get_error_ptr(png));
    if (self->error_.empty()) self->error_ = msg ? msg : "libpng error";
    png_longjmp(png, 1);
  }
  static void on_warning(png_structp, png_const_charp) {}
  static void on_write(png_structp png, png_bytep data, size_t n) {
    auto* self = static_cast<PngGridWriter*>(png_get_io_ptr(png));
    if (!self->write_bytes(data, n)) png_error(png, "write failed");
  }
  static void on_flush(png_structp) {}
  bool write_bytes(const void* data, size_t n) noexcept {
    try {
      file_->write(data, n);
      return true;
    } catch (const std::exception& e) {
      error_ = e.what();
      return false;
    }
  }

  int gap_;
  int columns_ = 1;
  int64_t grid_rows_ = 1;
  int width_ = 0, height_ = 0;
  int64_t bands_emitted_ = 0;
  std::vector<uint8_t> band_, gap_row_;
  std::unique_ptr<AtomicFile> file_;
  png_structp png_ = nullptr;
  png_infop info_ = nullptr;
  std::string error_;
};

void check_geometry(const std::string& path, int64_t total, int rows, int cols) {
  DG_REQUIRE(total >= 1, path, ": total image count ", total, ", expected at least 1");
  DG_REQUIRE(total <= 0xFFFFFFFFll, path, ": total image count ", total, " does not fit the 32-bit IDX/npy header");
  DG_REQUIRE(rows >= 1 && cols >= 1 && rows <= 4096 && cols <= 4096, path, ": image size ", rows, "x", cols,
             ", expected 1..4096 per side");
}

}  // namespace

std::unique_ptr<SampleWriter> open_sample_writer(const std::string& path, int64_t total_count, int rows, int cols,
                                                 const SampleWriterOptions& options) {
  check_geometry(path, total_count, rows, cols);
  const std::string ext = lower_ext(path);
  if (ext == ".png")
    return std::make_unique<PngGridWriter>(path, total_count, rows, cols, options.png_columns, options.png_gap);
  if (ext == ".idx") return std::make_unique<IdxWriter>(path, total_count, rows, cols);
  if (ext == ".npy") return std::make_unique<NpyWriter>(path, total_count, rows, cols);
  fail(path, ": unknown output extension '", ext, "', expected .png, .idx or .npy");
}

void write_png_grid(const std::string& path, const float* images, int64_t n, int rows, int cols, int columns,
                    int gap) {
  check_geometry(path, n, rows, cols);
  PngGridWriter w(path, n, rows, cols, columns, gap);
  w.write(images, nullptr, n);
  w.finish();
}

GrayImage read_png_gray(const std::string& path) {
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, path.c_str())) {
    const std::string msg = img.message;
    png_image_free(&img);
    fail(path, ": cannot read PNG: ", msg);
  }
  if (img.width == 0 || img.height == 0 || img.width > 16384 || img.height > 16384) {
    png_image_free(&img);
    fail(path, ": PNG size ", img.width, "x", img.height, ", expected 1..16384 per side");
  }
  img.format = PNG_FORMAT_GRAY;
  std::vector<uint8_t> buf(PNG_IMAGE_SIZE(img));
  const png_color black = {0, 0, 0};
  if (!png_image_finish_read(&img, &black, buf.data(), 0, nullptr)) {
    const std::string msg = img.message;
    png_image_free(&img);
    fail(path, ": cannot decode PNG: ", msg);
  }
  GrayImage out;
  out.rows = int(img.height);
  out.cols = int(img.width);
  out.pixels.resize(buf.size());
  for (size_t i = 0; i < buf.size(); ++i) out.pixels[i] = float(buf[i]) / 255.0f;
  return out;
}

}  // namespace dg
