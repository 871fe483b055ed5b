// IDX reader: plain and gzip give the same data; every malformed header, body, gzip stream and label is
// rejected naming the file and the field; the MNIST split loader; real MNIST when $DIGITGEN_DATA is set.
#include <zlib.h>

#include <cstdlib>

#include "runtime/idx.h"
#include "tests/io_test_util.h"

namespace dg {
namespace {

using test::expect_error;
using test::read_bytes;
using test::write_bytes;

void put32(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(uint8_t(x >> s));
}

std::vector<uint8_t> images_file(uint32_t count, uint32_t rows, uint32_t cols, uint32_t magic = 0x00000803) {
  std::vector<uint8_t> v;
  put32(v, magic);
  put32(v, count);
  put32(v, rows);
  put32(v, cols);
  for (uint32_t i = 0; i < count * rows * cols; ++i) v.push_back(uint8_t(i * 7 + 3));
  return v;
}

std::vector<uint8_t> labels_file(const std::vector<uint8_t>& labels, uint32_t magic = 0x00000801) {
  std::vector<uint8_t> v;
  put32(v, magic);
  put32(v, uint32_t(labels.size()));
  v.insert(v.end(), labels.begin(), labels.end());
  return v;
}

void write_gz(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb9");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

class Idx : public test::TempDirTest {};

TEST_F(Idx, PlainAndGzipGiveIdenticalData) {
  const auto img = images_file(5, 4, 3);
  write_bytes(file("a.idx"), img);
  write_gz(file("a.idx.gz"), img);
  const IdxImages p = read_idx_images(file("a.idx"));
  const IdxImages g = read_idx_images(file("a.idx.gz"));
  EXPECT_EQ(p.count, 5);
  EXPECT_EQ(p.rows, 4);
  EXPECT_EQ(p.cols, 3);
  ASSERT_EQ(p.pixels.size(), 60u);
  EXPECT_EQ(p.pixels, std::vector<uint8_t>(img.begin() + 16, img.end()));
  EXPECT_EQ(g.count, p.count);
  EXPECT_EQ(g.rows, p.rows);
  EXPECT_EQ(g.cols, p.cols);
  EXPECT_EQ(g.pixels, p.pixels);

  const std::vector<uint8_t> labels = {0, 9, 3, 5, 1};
  write_bytes(file("l.idx"), labels_file(labels));
  write_gz(file("l.idx.gz"), labels_file(labels));
  EXPECT_EQ(read_idx_labels(file("l.idx")), labels);
  EXPECT_EQ(read_idx_labels(file("l.idx.gz")), labels);

  const auto f = idx_to_unit_float(p);
  ASSERT_EQ(f.size(), p.pixels.size());
  EXPECT_FLOAT_EQ(f[1], p.pixels[1] / 255.0f);
}

TEST_F(Idx, RejectsWrongMagic) {
  const std::string path = file("bad_magic");
  auto v = images_file(2, 2, 2, 0x01000803);
  write_bytes(path, v);
  expect_error([&] { read_idx_images(path); }, {path, "magic", "0x01000803", "expected 0x00000803"});
  auto l = labels_file({1, 2}, 0x12340801);
  write_bytes(path, l);
  expect_error([&] { read_idx_labels(path); }, {path, "magic", "expected 0x00000801"});
}

TEST_F(Idx, RejectsWrongTypeCode) {
  const std::string path = file("float_type");
  write_bytes(path, images_file(2, 2, 2, 0x00000D03));
  expect_error([&] { read_idx_images(path); }, {path, "type code 0x0D", "expected 0x08", "unsigned byte"});
}

TEST_F(Idx, RejectsWrongNumberOfDimensions) {
  const std::string path = file("labels_as_images");
  write_bytes(path, labels_file({1, 2, 3}));
  expect_error([&] { read_idx_images(path); }, {path, "number of dimensions 1", "expected 3"});
  write_bytes(path, images_file(1, 1, 1));
  expect_error([&] { read_idx_labels(path); }, {path, "number of dimensions 3", "expected 1"});
}

TEST_F(Idx, RejectsZeroAndAbsurdDimensions) {
  const std::string path = file("dims");
  write_bytes(path, images_file(0, 28, 28));
  expect_error([&] { read_idx_images(path); }, {path, "dimension 0", "image count", "is 0"});
  write_bytes(path, images_file(3, 28, 0));
  expect_error([&] { read_idx_images(path); }, {path, "dimension 2", "cols", "is 0"});
  std::vector<uint8_t> v;
  put32(v, 0x00000803);
  put32(v, 10);
  put32(v, 100000);
  put32(v, 28);
  write_bytes(path, v);
  expect_error([&] { read_idx_images(path); }, {path, "dimension 1", "rows", "absurd", "4096"});
  write_bytes(path, labels_file({}));
  expect_error([&] { read_idx_labels(path); }, {path, "dimension 0", "label count", "is 0"});
}

TEST_F(Idx, RejectsTruncatedHeader) {
  const std::string path = file("short_header");
  auto v = images_file(2, 2, 2);
  v.resize(10);
  write_bytes(path, v);
  expect_error([&] { read_idx_images(path); }, {path, "header truncated", "dimension 1"});
  write_bytes(path, {0, 0});
  expect_error([&] { read_idx_images(path); }, {path, "magic", "2 bytes"});
}

TEST_F(Idx, RejectsBodyShorterOrLongerThanHeader) {
  const std::string path = file("body");
  auto v = images_file(3, 4, 4);
  v.pop_back();
  write_bytes(path, v);
  expect_error([&] { read_idx_images(path); }, {path, "body is 47 bytes", "shorter", "expected 48"});
  v.push_back(1);
  v.push_back(2);
  write_bytes(path, v);
  expect_error([&] { read_idx_images(path); }, {path, "body is 49 bytes", "longer", "expected 48"});

  const std::string gz = file("body.gz");
  v.resize(v.size() - 3);
  write_gz(gz, v);
  expect_error([&] { read_idx_images(gz); }, {gz, "body", "shorter", "expected 48"});
  v.insert(v.end(), {1, 2, 3});
  write_gz(gz, v);
  expect_error([&] { read_idx_images(gz); }, {gz, "body", "longer", "expected 48"});

  write_bytes(path, {0, 0, 8, 1, 0, 0, 0, 4, 1, 2});
  expect_error([&] { read_idx_labels(path); }, {path, "body is 2 bytes", "shorter", "expected 4"});
}

TEST_F(Idx, RejectsTruncatedGzip) {
  const std::string path = file("cut.gz");
  write_gz(path, images_file(50, 28, 28));
  auto z = read_bytes(path);
  ASSERT_GT(z.size(), 100u);
  z.resize(z.size() / 2);
  write_bytes(path, z);
  expect_error([&] { read_idx_images(path); }, {path, "truncated gzip"});
  // Only the 8-byte gzip trailer (CRC and length) missing: the data is complete but unverified.
  write_gz(path, images_file(2, 3, 3));
  z = read_bytes(path);
  z.resize(z.size() - 8);
  write_bytes(path, z);
  expect_error([&] { read_idx_images(path); }, {path, "gzip"});
}

TEST_F(Idx, RejectsLabelOutsideZeroToNine) {
  const std::string path = file("labels");
  write_bytes(path, labels_file({0, 1, 2, 10, 4}));
  expect_error([&] { read_idx_labels(path); }, {path, "label at index 3", "is 10", "expected 0..9"});
}

TEST_F(Idx, ReportsMissingFile) {
  expect_error([&] { read_idx_images(file("nope")); }, {file("nope"), "cannot open"});
  expect_error([&] { load_mnist_split(dir_, true); },
               {"looked for", file("train-images-idx3-ubyte"), file("train-images-idx3-ubyte.gz"), "fetch_mnist"});
}

TEST_F(Idx, LoadsSplitPlainOrGzipAndChecksCounts) {
  write_bytes(file("t10k-images-idx3-ubyte"), images_file(3, 28, 28));
  write_gz(file("t10k-labels-idx1-ubyte.gz"), labels_file({7, 2, 1}));
  const MnistSplit s = load_mnist_split(dir_, false);
  EXPECT_EQ(s.images.count, 3);
  EXPECT_EQ(s.labels, (std::vector<uint8_t>{7, 2, 1}));

  write_gz(file("train-images-idx3-ubyte.gz"), images_file(4, 28, 28));
  write_bytes(file("train-labels-idx1-ubyte"), labels_file({1, 2, 3}));
  expect_error([&] { load_mnist_split(dir_, true); },
               {file("train-images-idx3-ubyte.gz"), "4 images", file("train-labels-idx1-ubyte"), "3 labels",
                "counts differ"});
  expect_error([&] { load_mnist_split(file("missing_dir"), true); }, {"looked for", "missing_dir"});
}

TEST(IdxRealMnist, LoadsBothSplitsWhenPresent) {
  const char* dir = std::getenv("DIGITGEN_DATA");
  if (!dir || !*dir) GTEST_SKIP() << "DIGITGEN_DATA is not set (run tools/fetch_mnist.sh and point it at data/mnist)";
  const std::string probe = std::string(dir) + "/train-images-idx3-ubyte";
  if (!std::filesystem::exists(probe) && !std::filesystem::exists(probe + ".gz"))
    GTEST_SKIP() << "no MNIST in DIGITGEN_DATA=" << dir << " (run tools/fetch_mnist.sh " << dir << ")";
  const MnistSplit train = load_mnist_split(dir, true);
  EXPECT_EQ(train.images.count, 60000);
  EXPECT_EQ(train.images.rows, 28);
  EXPECT_EQ(train.images.cols, 28);
  EXPECT_EQ(train.labels.size(), 60000u);
  const MnistSplit test = load_mnist_split(dir, false);
  EXPECT_EQ(test.images.count, 10000);
  EXPECT_EQ(test.images.rows, 28);
  EXPECT_EQ(test.images.cols, 28);
  EXPECT_EQ(test.labels.size(), 10000u);
  // The well-known first labels of each split.
  EXPECT_EQ(train.labels[0], 5);
  EXPECT_EQ(test.labels[0], 7);
}

}  // namespace
}  // namespace dg
