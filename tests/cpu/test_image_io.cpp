// Sample writers: PNG grid layout and round trip through the PNG reader, IDX round trip with labels,
// npy header, count checks, and atomicity (no final or temp file after a failure or a missing finish()).
#include <png.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "runtime/idx.h"
#include "runtime/image_io.h"
#include "tests/io_test_util.h"
#include "tests/test_util.h"

namespace dg {
namespace {

using test::expect_error;
using test::read_bytes;
using test::write_bytes;

constexpr int R = 28, C = 28, P = R * C;

std::vector<float> digits(int n, uint32_t seed) { return test::random_vec(size_t(n) * P, seed, 0.0f, 1.0f); }

class ImageIo : public test::TempDirTest {};

TEST_F(ImageIo, UnitToByteClampsAndRounds) {
  EXPECT_EQ(unit_to_byte(-0.5f), 0);
  EXPECT_EQ(unit_to_byte(0.0f), 0);
  EXPECT_EQ(unit_to_byte(0.5f), 128);
  EXPECT_EQ(unit_to_byte(1.0f), 255);
  EXPECT_EQ(unit_to_byte(1.7f), 255);
  EXPECT_EQ(unit_to_byte(std::numeric_limits<float>::quiet_NaN()), 0);
  EXPECT_EQ(unit_to_byte(2.0f / 255.0f), 2);
}

TEST_F(ImageIo, PngGridRoundTripsThroughReader) {
  // 5 images, streamed in batches of 2, 2, 1: ceil(sqrt(5)) = 3 columns, 2 rows, 2-pixel gaps.
  const int n = 5;
  const auto x = digits(n, 11);
  const std::string path = file("grid.png");
  auto w = open_sample_writer(path, n, R, C);
  w->write(x.data(), nullptr, 2);
  w->write(x.data() + 2 * P, nullptr, 2);
  w->write(x.data() + 4 * P, nullptr, 1);
  w->finish();
  const GrayImage g = read_png_gray(path);
  ASSERT_EQ(g.cols, 3 * C + 2 * 2);
  ASSERT_EQ(g.rows, 2 * R + 2);
  for (int i = 0; i < n; ++i) {
    const int gr = i / 3, gc = i % 3;
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) {
        const float got = g.pixels[size_t(gr * (R + 2) + r) * g.cols + gc * (C + 2) + c];
        ASSERT_EQ(got, unit_to_byte(x[size_t(i) * P + r * C + c]) / 255.0f) << "image " << i << " at " << r << "," << c;
      }
  }
  EXPECT_FLOAT_EQ(g.pixels[size_t(0) * g.cols + C], 128 / 255.0f);               // vertical gap
  EXPECT_FLOAT_EQ(g.pixels[size_t(R) * g.cols + 0], 128 / 255.0f);               // horizontal gap
  EXPECT_EQ(g.pixels[size_t(R + 2) * g.cols + 2 * (C + 2) + 5], 0.0f);           // empty sixth cell
  EXPECT_EQ(listing(), std::vector<std::string>{"grid.png"});
}

TEST_F(ImageIo, PngGridExplicitColumnsAndHelper) {
  const auto x = digits(4, 12);
  write_png_grid(file("row.png"), x.data(), 4, R, C, 4);
  const GrayImage g = read_png_gray(file("row.png"));
  EXPECT_EQ(g.rows, R);
  EXPECT_EQ(g.cols, 4 * C + 3 * 2);
  SampleWriterOptions opt;
  opt.png_columns = 1;
  opt.png_gap = 0;
  auto w = open_sample_writer(file("col.png"), 4, R, C, opt);
  w->write(x.data(), nullptr, 4);
  w->finish();
  const GrayImage h = read_png_gray(file("col.png"));
  EXPECT_EQ(h.rows, 4 * R);
  EXPECT_EQ(h.cols, C);
  EXPECT_EQ(h.pixels[size_t(3 * R) * C + 7], unit_to_byte(x[size_t(3) * P + 7]) / 255.0f);
}

TEST_F(ImageIo, PngReaderConvertsRgbToGrey) {
  // A 28x28 RGB PNG written with libpng's simplified API: grey levels stay, white is 1, black is 0.
  std::vector<uint8_t> rgb(size_t(P) * 3);
  for (int i = 0; i < P; ++i) {
    const uint8_t v = i % 3 == 0 ? 0 : i % 3 == 1 ? 255 : 100;
    rgb[size_t(i) * 3] = rgb[size_t(i) * 3 + 1] = rgb[size_t(i) * 3 + 2] = v;
  }
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.width = C;
  img.height = R;
  img.format = PNG_FORMAT_RGB;
  ASSERT_TRUE(png_image_write_to_file(&img, file("rgb.png").c_str(), 0, rgb.data(), 0, nullptr)) << img.message;
  const GrayImage g = read_png_gray(file("rgb.png"));
  ASSERT_EQ(g.rows, R);
  ASSERT_EQ(g.cols, C);
  EXPECT_EQ(g.pixels[0], 0.0f);
  EXPECT_EQ(g.pixels[1], 1.0f);
  EXPECT_NEAR(g.pixels[2], 100 / 255.0f, 1.5 / 255.0f);
  for (float v : g.pixels) ASSERT_TRUE(v >= 0.0f && v <= 1.0f);

  write_bytes(file("not.png"), {1, 2, 3, 4});
  expect_error([&] { read_png_gray(file("not.png")); }, {file("not.png"), "PNG"});
  expect_error([&] { read_png_gray(file("missing.png")); }, {file("missing.png")});
}

TEST_F(ImageIo, IdxRoundTripsIncludingLabels) {
  const int n = 7;
  auto x = digits(n, 13);
  x[0] = -1.0f;
  x[1] = 2.0f;
  x[2] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<int32_t> labels = {0, 1, 2, 3, 9, 8, 7};
  const std::string path = file("samples.idx");
  auto w = open_sample_writer(path, n, R, C);
  w->write(x.data(), labels.data(), 3);
  w->write(x.data() + 3 * P, labels.data() + 3, 4);
  w->finish();
  const IdxImages img = read_idx_images(path);
  ASSERT_EQ(img.count, n);
  ASSERT_EQ(img.rows, R);
  ASSERT_EQ(img.cols, C);
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(img.pixels[i], unit_to_byte(x[i])) << i;
  EXPECT_EQ(img.pixels[0], 0);
  EXPECT_EQ(img.pixels[1], 255);
  EXPECT_EQ(img.pixels[2], 0);
  const auto l = read_idx_labels(file("samples-labels.idx"));
  EXPECT_EQ(std::vector<int32_t>(l.begin(), l.end()), labels);
  EXPECT_EQ(listing().size(), 2u);
}

TEST_F(ImageIo, IdxWithoutLabelsWritesNoLabelsFile) {
  const auto x = digits(2, 14);
  auto w = open_sample_writer(file("u.idx"), 2, R, C);
  w->write(x.data(), nullptr, 2);
  w->finish();
  EXPECT_EQ(listing(), std::vector<std::string>{"u.idx"});
  EXPECT_EQ(read_idx_images(file("u.idx")).count, 2);
}

TEST_F(ImageIo, NpyHeaderIsParseable) {
  const int n = 3;
  const auto x = digits(n, 15);
  const std::vector<int32_t> labels = {4, 5, 6};
  auto w = open_sample_writer(file("s.npy"), n, R, C);
  w->write(x.data(), labels.data(), 1);
  w->write(x.data() + P, labels.data() + 1, 2);
  w->finish();
  const auto b = read_bytes(file("s.npy"));
  ASSERT_GE(b.size(), 10u);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 6), "\x93NUMPY");
  EXPECT_EQ(b[6], 1);
  EXPECT_EQ(b[7], 0);
  const size_t hlen = size_t(b[8]) | (size_t(b[9]) << 8);
  EXPECT_EQ((10 + hlen) % 64, 0u);
  const std::string header(b.begin() + 10, b.begin() + 10 + ptrdiff_t(hlen));
  EXPECT_EQ(header.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 28, 28), }", 0), 0u) << header;
  EXPECT_EQ(header.back(), '\n');
  EXPECT_EQ(header.find_first_not_of(' ', header.find('}') + 1), header.size() - 1);
  ASSERT_EQ(b.size(), 10 + hlen + x.size() * sizeof(float));
  std::vector<float> back(x.size());
  std::memcpy(back.data(), b.data() + 10 + hlen, back.size() * sizeof(float));
  EXPECT_EQ(back, x);

  const auto lb = read_bytes(file("s-labels.npy"));
  const size_t lhlen = size_t(lb[8]) | (size_t(lb[9]) << 8);
  const std::string lheader(lb.begin() + 10, lb.begin() + 10 + ptrdiff_t(lhlen));
  EXPECT_EQ(lheader.rfind("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", 0), 0u) << lheader;
  ASSERT_EQ(lb.size(), 10 + lhlen + 3 * sizeof(int32_t));
  int32_t l2;
  std::memcpy(&l2, lb.data() + 10 + lhlen + 8, 4);
  EXPECT_EQ(l2, 6);
}

TEST_F(ImageIo, DestroyedWithoutFinishLeavesNothing) {
  const auto x = digits(4, 16);
  const std::vector<int32_t> labels = {1, 2, 3, 4};
  for (const char* name : {"a.png", "a.idx", "a.npy"}) {
    {
      auto w = open_sample_writer(file(name), 4, R, C);
      w->write(x.data(), labels.data(), 3);
      EXPECT_FALSE(listing().empty()) << name << ": the temp file exists while writing";
    }
    EXPECT_TRUE(listing().empty()) << name << " left " << listing().size() << " files";
  }
}

TEST_F(ImageIo, FailedWriterLeavesPreviousFileIntact) {
  const std::string path = file("keep.idx");
  write_bytes(path, {'o', 'l', 'd'});
  const auto x = digits(4, 17);
  {
    auto w = open_sample_writer(path, 4, R, C);
    w->write(x.data(), nullptr, 3);
    expect_error([&] { w->finish(); }, {path, "image count", "3 images written", "declared total 4"});
    expect_error([&] { w->finish(); }, {path, "earlier failure"});
  }
  EXPECT_EQ(read_bytes(path), (std::vector<uint8_t>{'o', 'l', 'd'}));
  EXPECT_EQ(listing(), std::vector<std::string>{"keep.idx"});
}

TEST_F(ImageIo, RejectsBadCallsAndExtensions) {
  const auto x = digits(3, 18);
  auto w = open_sample_writer(file("b.npy"), 2, R, C);
  expect_error([&] { w->write(x.data(), nullptr, 3); }, {file("b.npy"), "exceeds the declared total 2"});
  const std::vector<int32_t> bad = {1, 12};
  auto w2 = open_sample_writer(file("c.idx"), 2, R, C);
  expect_error([&] { w2->write(x.data(), bad.data(), 2); }, {file("c.idx"), "label at index 1", "is 12"});
  auto w3 = open_sample_writer(file("d.idx"), 2, R, C);
  const std::vector<int32_t> good = {1, 2};
  w3->write(x.data(), good.data(), 1);
  expect_error([&] { w3->write(x.data(), nullptr, 1); }, {file("d.idx"), "labels given in some"});
  expect_error([&] { open_sample_writer(file("e.jpg"), 2, R, C); }, {file("e.jpg"), "'.jpg'", ".png, .idx or .npy"});
  expect_error([&] { open_sample_writer(file("f.png"), 0, R, C); }, {file("f.png"), "at least 1"});
  expect_error([&] { open_sample_writer(file("nodir/g.png"), 1, R, C); }, {file("nodir/g.png"), "cannot create"});
}

}  // namespace
}  // namespace dg
