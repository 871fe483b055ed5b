// Sample output writers shared by every command (.png grid, .idx, .npy), each streaming and atomic
// (temp file in the same folder, renamed by finish()), and the PNG reader for digit inputs.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dg {

// Receives batches of images (and optionally labels) and produces one output file.
// write() may be called any number of times; the batches together must hold exactly total_count images.
// finish() completes the file and renames it onto its final name; destroying the writer without finish()
// (or after any failure) removes the temp file and leaves the final name untouched.
class SampleWriter {
 public:
  virtual ~SampleWriter() = default;
  // images: [n, rows, cols] floats, nominally in [0,1]; labels: n values or null (null in every call, or in none).
  virtual void write(const float* images, const int32_t* labels, int64_t n) = 0;
  virtual void finish() = 0;
};

struct SampleWriterOptions {
  int png_columns = 0;  // 0: ceil(sqrt(total_count)) columns
  int png_gap = 2;      // pixels between cells of the PNG grid
};

// Chooses by the (case-insensitive) extension of path:
//   .png  greyscale 8-bit grid, cells separated by png_gap pixels of grey 128 over a black background;
//         labels are ignored.
//   .idx  IDX3 uint8 images [total_count, rows, cols]; with labels also "<stem>-labels.idx" (IDX1 uint8, 0..9).
//   .npy  float32 array (total_count, rows, cols), npy version 1.0, header padded to 64 bytes, values
//         written unclamped; with labels also "<stem>-labels.npy" (int32, (total_count,)).
// PNG and IDX clamp to [0,1] and round to uint8 (NaN becomes 0). finish() fails when the images written
// differ from total_count; write() fails as soon as they would exceed it.
std::unique_ptr<SampleWriter> open_sample_writer(const std::string& path, int64_t total_count, int rows, int cols,
                                                 const SampleWriterOptions& options = {});

// One-shot PNG grid of n images; columns 0 means ceil(sqrt(n)).
void write_png_grid(const std::string& path, const float* images, int64_t n, int rows, int cols, int columns = 0,
                    int gap = 2);

// [0,1] float to byte: clamp, round to nearest, NaN to 0.
uint8_t unit_to_byte(float v);

struct GrayImage {
  int rows = 0, cols = 0;
  std::vector<float> pixels;  // row-major, in [0,1]
};
// Reads any PNG (grey, grey+alpha, RGB, RGBA, palette, 8 or 16 bit) as 8-bit grey scaled to [0,1];
// colour is converted to grey by libpng (alpha is composited over black). Callers check the size.
GrayImage read_png_gray(const std::string& path);

}  // namespace dg
