// safetensors reader and atomic writer; see runtime/safetensors.h.
#include "runtime/safetensors.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "runtime/atomic_file.h"
#include "runtime/error.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian");

namespace dg {

namespace {

constexpr uint64_t kMaxHeaderBytes = uint64_t(100) << 20;

std::string shape_text(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// Product of dims, or -1 on a negative dim or overflow past 2^62.
int64_t checked_numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d != 0 && n > (int64_t(1) << 62) / d) return -1;
    n *= d;
  }
  return n;
}

}  // namespace

size_t st_dtype_size(const std::string& dtype) {
  static const std::map<std::string, size_t> sizes = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2},
                                                      {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
                                                      {"U8", 1},  {"BOOL", 1}};
  const auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

StTensor st_f32(const std::string& name, const std::vector<int64_t>& shape, const std::vector<float>& values) {
  StTensor t{name, "F32", shape, {}, nullptr, 0};
  t.bytes.resize(values.size() * sizeof(float));
  if (!values.empty()) std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

StTensor st_i64(const std::string& name, const std::vector<int64_t>& shape, const std::vector<int64_t>& values) {
  StTensor t{name, "I64", shape, {}, nullptr, 0};
  t.bytes.resize(values.size() * sizeof(int64_t));
  if (!values.empty()) std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

void save_safetensors(const std::string& path, const std::vector<StTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header["__metadata__"] = meta;
  }
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const StTensor& t : tensors) {
    DG_REQUIRE(!t.name.empty(), path, ": cannot save a tensor with an empty name");
    DG_REQUIRE(t.name != "__metadata__", path, ": tensor name \"__metadata__\" is reserved");
    DG_REQUIRE(names.insert(t.name).second, path, ": tensor \"", t.name, "\" appears twice");
    const size_t esize = st_dtype_size(t.dtype);
    DG_REQUIRE(esize != 0, path, ": tensor \"", t.name, "\": unknown dtype \"", t.dtype, "\"");
    const int64_t n = checked_numel(t.shape);
    DG_REQUIRE(n >= 0, path, ": tensor \"", t.name, "\": invalid shape ", shape_text(t.shape));
    const size_t have = t.data ? t.nbytes : t.bytes.size();
    DG_REQUIRE(have == uint64_t(n) * esize, path, ": tensor \"", t.name, "\": ", have, " bytes given, expected ",
               uint64_t(n) * esize, " for shape ", shape_text(t.shape), " of ", t.dtype);
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + have}}};
    offset += have;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(text.size()) >> (8 * i));

  AtomicFile file(path);
  file.write(len, sizeof len);
  file.write(text.data(), text.size());
  for (const StTensor& t : tensors) {
    if (t.data)
      file.write(t.data, t.nbytes);
    else
      file.write(t.bytes.data(), t.bytes.size());
  }
  file.commit();
}

StFile load_safetensors(const std::string& path) {
  StFile out;
  out.path = path;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    const int err = errno;
    fail(path, ": cannot open safetensors file: ", std::strerror(err));
  }
  struct Closer {
    std::FILE* f;
    ~Closer() { std::fclose(f); }
  } closer{f};
  struct stat st;
  DG_REQUIRE(::fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode), path, ": not a regular file");
  const uint64_t size = uint64_t(st.st_size);
  DG_REQUIRE(size >= 8, path, ": header length: file is ", size,
             " bytes, too short for the 8-byte header length (truncated?)");
  uint8_t len_bytes[8];
  DG_REQUIRE(std::fread(len_bytes, 1, 8, f) == 8, path, ": read error in the header length");
  uint64_t hlen = 0;
  for (int i = 0; i < 8; ++i) hlen |= uint64_t(len_bytes[i]) << (8 * i);
  DG_REQUIRE(hlen <= size - 8, path, ": header length ", hlen, " exceeds the ", size - 8,
             " bytes after the length field (truncated file or bad header length)");
  DG_REQUIRE(hlen <= kMaxHeaderBytes, path, ": header length ", hlen, " is absurd, expected at most ",
             kMaxHeaderBytes);
  DG_REQUIRE(hlen >= 2, path, ": header length ", hlen, " is too small for a JSON object");
  std::string text(hlen, '\0');
  DG_REQUIRE(std::fread(text.data(), 1, hlen, f) == hlen, path, ": read error in the JSON header");
  out.data.resize(size - 8 - hlen);
  DG_REQUIRE(std::fread(out.data.data(), 1, out.data.size(), f) == out.data.size(), path,
             ": read error in the data section (file changed while reading?)");

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": header is not valid JSON: ", e.what());
  }
  DG_REQUIRE(header.is_object(), path, ": header is JSON ", header.type_name(), ", expected an object");

  struct Span {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& v = it.value();
    if (name == "__metadata__") {
      DG_REQUIRE(v.is_object(), path, ": __metadata__ is ", v.type_name(), ", expected an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        DG_REQUIRE(m.value().is_string(), path, ": __metadata__ entry \"", m.key(), "\" is ", m.value().type_name(),
                   ", expected a string");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = path + ": tensor \"" + name + "\"";
    DG_REQUIRE(v.is_object(), where, " is ", v.type_name(), ", expected an object");
    for (auto k = v.begin(); k != v.end(); ++k)
      DG_REQUIRE(k.key() == "dtype" || k.key() == "shape" || k.key() == "data_offsets", where, ": unknown field \"",
                 k.key(), "\", expected dtype, shape and data_offsets");
    DG_REQUIRE(v.contains("dtype") && v["dtype"].is_string(), where, ": dtype missing or not a string");
    DG_REQUIRE(v.contains("shape") && v["shape"].is_array(), where, ": shape missing or not an array");
    DG_REQUIRE(v.contains("data_offsets") && v["data_offsets"].is_array() && v["data_offsets"].size() == 2, where,
               ": data_offsets missing or not a [begin, end] pair");
    StTensorInfo info;
    info.dtype = v["dtype"].get<std::string>();
    const size_t esize = st_dtype_size(info.dtype);
    DG_REQUIRE(esize != 0, where, ": unknown dtype \"", info.dtype,
               "\", expected one of F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL");
    for (const auto& d : v["shape"]) {
      DG_REQUIRE(d.is_number_unsigned(), where, ": shape entry ", d.dump(), " is not a non-negative integer");
      info.shape.push_back(int64_t(d.get<uint64_t>()));
    }
    const auto& off = v["data_offsets"];
    DG_REQUIRE(off[0].is_number_unsigned() && off[1].is_number_unsigned(), where, ": data_offsets ", off.dump(),
               " are not non-negative integers");
    info.begin = off[0].get<uint64_t>();
    info.end = off[1].get<uint64_t>();
    DG_REQUIRE(info.begin <= info.end, where, ": data_offsets ", off.dump(), " have begin after end");
    DG_REQUIRE(info.end <= out.data.size(), where, ": data_offsets ", off.dump(), " run past the ", out.data.size(),
               "-byte data section (truncated file?)");
    const int64_t n = checked_numel(info.shape);
    DG_REQUIRE(n >= 0, where, ": shape ", shape_text(info.shape), " is too large");
    DG_REQUIRE(info.end - info.begin == uint64_t(n) * esize, where, ": data_offsets ", off.dump(), " span ",
               info.end - info.begin, " bytes, expected ", uint64_t(n) * esize, " for shape ",
               shape_text(info.shape), " of ", info.dtype);
    spans.push_back({info.begin, info.end, name});
    out.tensors.emplace(name, std::move(info));
  }
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t cursor = 0;
  std::string prev = "(start of data)";
  for (const Span& s : spans) {
    DG_REQUIRE(s.begin >= cursor, path, ": tensor \"", s.name, "\" data_offsets begin at ", s.begin,
               ", overlapping ", prev, " which ends at ", cursor);
    DG_REQUIRE(s.begin == cursor, path, ": tensor \"", s.name, "\" data_offsets begin at ", s.begin, ", leaving a gap of ",
               s.begin - cursor, " bytes after ", prev, " which ends at ", cursor);
    cursor = s.end;
    prev = "tensor \"" + s.name + "\"";
  }
  DG_REQUIRE(cursor == out.data.size(), path, ": ", out.data.size() - cursor,
             " trailing bytes after the last tensor (data section is ", out.data.size(), " bytes, tensors cover ",
             cursor, ")");
  return out;
}

namespace {
template <typename T>
std::vector<T> get_typed(const StFile& file, const std::string& name, const std::vector<int64_t>& expected,
                         const char* dtype) {
  const auto it = file.tensors.find(name);
  DG_REQUIRE(it != file.tensors.end(), file.path, ": tensor \"", name, "\" not found");
  const StTensorInfo& info = it->second;
  DG_REQUIRE(info.dtype == dtype, file.path, ": tensor \"", name, "\" has dtype ", info.dtype, ", expected ", dtype);
  DG_REQUIRE(info.shape == expected, file.path, ": tensor \"", name, "\" has shape ", shape_text(info.shape),
             ", expected ", shape_text(expected));
  std::vector<T> out((info.end - info.begin) / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), file.data.data() + info.begin, info.end - info.begin);
  return out;
}
}  // namespace

std::vector<float> get_f32(const StFile& file, const std::string& name, const std::vector<int64_t>& expected_shape) {
  return get_typed<float>(file, name, expected_shape, "F32");
}

std::vector<int64_t> get_i64(const StFile& file, const std::string& name,
                             const std::vector<int64_t>& expected_shape) {
  return get_typed<int64_t>(file, name, expected_shape, "I64");
}

}  // namespace dg
