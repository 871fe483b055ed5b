// safetensors: exact round trip of bytes and metadata; every malformed file rejected with a message naming
// the file and the tensor or field; failed saves (missing folder, blocked temp name, write error) keep the
// previous file intact.
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "runtime/safetensors.h"
#include "tests/io_test_util.h"

namespace dg {
namespace {

using test::expect_error;
using test::read_bytes;
using test::write_bytes;

// A file from a raw header string and data bytes; hlen overrides the stored header length.
std::vector<uint8_t> raw_file(const std::string& header, const std::vector<uint8_t>& data, int64_t hlen = -1) {
  const uint64_t n = hlen < 0 ? header.size() : uint64_t(hlen);
  std::vector<uint8_t> v;
  for (int i = 0; i < 8; ++i) v.push_back(uint8_t(n >> (8 * i)));
  v.insert(v.end(), header.begin(), header.end());
  v.insert(v.end(), data.begin(), data.end());
  return v;
}

class Safetensors : public test::TempDirTest {
 protected:
  std::vector<StTensor> sample() const {
    std::vector<StTensor> t;
    t.push_back(st_f32("enc.w", {2, 3}, {1.5f, -2.0f, 0.25f, 3.0f, 1e-30f, -0.0f}));
    t.push_back(st_i64("step", {}, {1234567890123ll}));
    StTensor u{"mask", "U8", {5}, {1, 0, 255, 7, 9}, nullptr, 0};
    t.push_back(u);
    static const int32_t ints[3] = {-1, 2, 1 << 30};
    StTensor i{"idx", "I32", {3}, {}, ints, sizeof ints};
    t.push_back(i);
    t.push_back(st_f32("empty", {0, 4}, {}));
    return t;
  }
};

TEST_F(Safetensors, RoundTripsExactBytesAndMetadata) {
  const std::string path = file("model.safetensors");
  const std::map<std::string, std::string> meta = {{"model", "vae"}, {"epoch", "3"}, {"note", "a \"quoted\" value"}};
  save_safetensors(path, sample(), meta);
  const auto raw = read_bytes(path);
  uint64_t hlen = 0;
  for (int i = 0; i < 8; ++i) hlen |= uint64_t(raw[size_t(i)]) << (8 * i);
  EXPECT_EQ(hlen % 8, 0u);
  EXPECT_EQ(raw[8], '{');

  const StFile f = load_safetensors(path);
  EXPECT_EQ(f.metadata, meta);
  ASSERT_EQ(f.tensors.size(), 5u);
  EXPECT_EQ(get_f32(f, "enc.w", {2, 3}), (std::vector<float>{1.5f, -2.0f, 0.25f, 3.0f, 1e-30f, -0.0f}));
  EXPECT_TRUE(std::signbit(get_f32(f, "enc.w", {2, 3})[5]));
  EXPECT_EQ(get_i64(f, "step", {}), (std::vector<int64_t>{1234567890123ll}));
  EXPECT_TRUE(get_f32(f, "empty", {0, 4}).empty());
  const StTensorInfo& m = f.tensors.at("mask");
  EXPECT_EQ(m.dtype, "U8");
  EXPECT_EQ(std::vector<uint8_t>(f.data.begin() + ptrdiff_t(m.begin), f.data.begin() + ptrdiff_t(m.end)),
            (std::vector<uint8_t>{1, 0, 255, 7, 9}));
  const StTensorInfo& i = f.tensors.at("idx");
  int32_t ints[3];
  ASSERT_EQ(i.end - i.begin, sizeof ints);
  std::memcpy(ints, f.data.data() + i.begin, sizeof ints);
  EXPECT_EQ(ints[2], 1 << 30);
  EXPECT_EQ(f.data.size(), 24u + 8 + 5 + 12);
  EXPECT_EQ(listing(), std::vector<std::string>{"model.safetensors"});

  // Saving again over the file replaces it.
  save_safetensors(path, {st_f32("x", {1}, {7.0f})}, {});
  const StFile g = load_safetensors(path);
  EXPECT_TRUE(g.metadata.empty());
  EXPECT_EQ(get_f32(g, "x", {1}), std::vector<float>{7.0f});
}

TEST_F(Safetensors, GetF32ChecksNameDtypeAndShape) {
  const std::string path = file("m.safetensors");
  save_safetensors(path, sample(), {});
  const StFile f = load_safetensors(path);
  expect_error([&] { get_f32(f, "enc.w", {3, 2}); }, {path, "\"enc.w\"", "shape [2, 3]", "expected [3, 2]"});
  expect_error([&] { get_f32(f, "dec.w", {1}); }, {path, "\"dec.w\"", "not found"});
  expect_error([&] { get_f32(f, "step", {}); }, {path, "\"step\"", "dtype I64", "expected F32"});
}

TEST_F(Safetensors, RejectsTruncatedFileAndTrailingBytes) {
  const std::string path = file("t.safetensors");
  save_safetensors(path, sample(), {});
  const auto good = read_bytes(path);
  auto cut = good;
  cut.resize(cut.size() - 3);
  write_bytes(path, cut);
  expect_error([&] { load_safetensors(path); }, {path, "data_offsets", "run past the 46-byte data section", "truncated"});
  cut.resize(40);
  write_bytes(path, cut);
  expect_error([&] { load_safetensors(path); }, {path, "header length", "exceeds"});
  write_bytes(path, {1, 0, 0});
  expect_error([&] { load_safetensors(path); }, {path, "header length", "too short"});
  auto extra = good;
  extra.insert(extra.end(), {0, 0, 0, 0});
  write_bytes(path, extra);
  expect_error([&] { load_safetensors(path); }, {path, "4 trailing bytes"});
}

TEST_F(Safetensors, RejectsGapsAndOverlaps) {
  const std::string path = file("g.safetensors");
  const std::vector<uint8_t> data(16, 0);
  write_bytes(path, raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})",
                             data));
  expect_error([&] { load_safetensors(path); }, {path, "tensor \"b\"", "gap of 4 bytes", "tensor \"a\""});
  write_bytes(path, raw_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                             data));
  expect_error([&] { load_safetensors(path); }, {path, "tensor \"b\"", "overlapping tensor \"a\""});
  write_bytes(path, raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", data));
  expect_error([&] { load_safetensors(path); }, {path, "tensor \"a\"", "gap of 8 bytes", "start of data"});
}

TEST_F(Safetensors, RejectsBadHeaderLengthJsonDtypeAndShape) {
  const std::string path = file("h.safetensors");
  const std::vector<uint8_t> data(8, 0);
  const std::string ok = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  write_bytes(path, raw_file(ok, data, 1 << 20));
  expect_error([&] { load_safetensors(path); }, {path, "header length 1048576", "exceeds"});
  write_bytes(path, raw_file(ok, data, int64_t(ok.size()) - 1));
  expect_error([&] { load_safetensors(path); }, {path, "not valid JSON"});
  write_bytes(path, raw_file(R"({"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", data));
  expect_error([&] { load_safetensors(path); }, {path, "tensor \"a\"", "unknown dtype \"Q7\""});
  write_bytes(path, raw_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data));
  expect_error([&] { load_safetensors(path); }, {path, "tensor \"a\"", "span 8 bytes", "expected 12", "[3]"});
  write_bytes(path, raw_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data));
  expect_error([&] { load_safetensors(path); }, {path, "tensor \"a\"", "shape entry -2"});
  write_bytes(path, raw_file(R"({"a":{"dtype":"F32","shape":[2]}})", data));
  expect_error([&] { load_safetensors(path); }, {path, "tensor \"a\"", "data_offsets missing"});
  write_bytes(path, raw_file(R"({"__metadata__":{"epoch":3},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                             data));
  expect_error([&] { load_safetensors(path); }, {path, "__metadata__", "\"epoch\"", "expected a string"});
  write_bytes(path, raw_file("[1,2]", data));
  expect_error([&] { load_safetensors(path); }, {path, "expected an object"});
  // A header padded with spaces (as the writer does) is fine.
  write_bytes(path, raw_file(ok + "   ", data));
  EXPECT_EQ(load_safetensors(path).tensors.size(), 1u);
}

TEST_F(Safetensors, SaveRejectsInconsistentTensors) {
  const std::string path = file("s.safetensors");
  expect_error([&] { save_safetensors(path, {st_f32("w", {2, 2}, {1, 2, 3})}); },
               {path, "tensor \"w\"", "12 bytes given", "expected 16"});
  expect_error([&] { save_safetensors(path, {StTensor{"w", "Q7", {1}, {0}, nullptr, 0}}); },
               {path, "unknown dtype \"Q7\""});
  expect_error([&] { save_safetensors(path, {st_f32("w", {1}, {1}), st_f32("w", {1}, {2})}); },
               {path, "\"w\" appears twice"});
  EXPECT_TRUE(listing().empty());
}

TEST_F(Safetensors, FailedSaveLeavesPreviousFileIntact) {
  const std::string path = file("ckpt.safetensors");
  save_safetensors(path, {st_f32("w", {2}, {1.0f, 2.0f})}, {{"epoch", "1"}});
  const auto before = read_bytes(path);

  // Into a folder that does not exist.
  expect_error([&] { save_safetensors(file("no/such/dir.safetensors"), {st_f32("w", {1}, {1})}); },
               {file("no/such/dir.safetensors"), "cannot create temp file"});

  // The temp name is taken by a folder, so the temp file cannot be created.
  const std::string temp = path + ".tmp-" + std::to_string(::getpid());
  std::filesystem::create_directory(temp);
  expect_error([&] { save_safetensors(path, {st_f32("w", {2}, {3.0f, 4.0f})}); }, {path, temp});
  std::filesystem::remove(temp);
  EXPECT_EQ(read_bytes(path), before);

  // A write error part way (file size limit, EFBIG): the temp file is removed, the old file stays.
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto* prev_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit lim = old;
  lim.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &lim), 0);
  std::string msg;
  try {
    save_safetensors(path, {st_f32("w", {20000}, std::vector<float>(20000, 5.0f))}, {{"epoch", "2"}});
  } catch (const Error& e) {
    msg = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, prev_handler);
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("write"), std::string::npos) << msg;
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(load_safetensors(path).metadata.at("epoch"), "1");
  EXPECT_EQ(listing(), std::vector<std::string>{"ckpt.safetensors"});
}

}  // namespace
}  // namespace dg
