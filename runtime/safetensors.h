// The safetensors checkpoint format: atomic writer and strict reader (8-byte little-endian header length,
// JSON header with "__metadata__" and per-tensor dtype/shape/data_offsets, then the packed data).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dg {

// Known dtypes and their element sizes: F64 8, F32 4, F16 2, BF16 2, I64 8, I32 4, I16 2, I8 1, U8 1, BOOL 1.
// Returns 0 for an unknown name.
size_t st_dtype_size(const std::string& dtype);

// One tensor to save. The bytes come from `data`/`nbytes` when data is set (not copied; must stay alive
// through the save), otherwise from `bytes`. Their size must equal numel(shape) * dtype size.
struct StTensor {
  std::string name;
  std::string dtype;  // "F32", "I64", "U8", "I32", ...
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
  const void* data = nullptr;
  size_t nbytes = 0;
};
// Convenience constructors that copy host data.
StTensor st_f32(const std::string& name, const std::vector<int64_t>& shape, const std::vector<float>& values);
StTensor st_i64(const std::string& name, const std::vector<int64_t>& shape, const std::vector<int64_t>& values);

// Writes tensors in the given order (data offsets ascending, packed) with the header padded by spaces to a
// multiple of 8 bytes. Atomic: temp file in the same folder, fsync, rename, folder fsync; any failure leaves
// a previous file at `path` untouched. Names must be unique, non-empty and not "__metadata__".
void save_safetensors(const std::string& path, const std::vector<StTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

struct StTensorInfo {
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets into StFile::data
};

struct StFile {
  std::string path;
  std::map<std::string, std::string> metadata;
  std::map<std::string, StTensorInfo> tensors;
  std::vector<uint8_t> data;  // the data section (everything after the header)
};

// Strict reader: header length within the file, valid JSON object, string-only metadata, every tensor with a
// known dtype, a shape of non-negative integers and data_offsets with end - begin == numel * dtype size,
// offsets sorted with no gaps or overlaps and covering the data section exactly. Errors name the file and
// the tensor or field.
StFile load_safetensors(const std::string& path);

// The tensor as floats; errors name the file and the tensor when it is missing, not F32, or its shape differs
// from `expected_shape` (both shapes are printed).
std::vector<float> get_f32(const StFile& file, const std::string& name, const std::vector<int64_t>& expected_shape);
std::vector<int64_t> get_i64(const StFile& file, const std::string& name, const std::vector<int64_t>& expected_shape);

}  // namespace dg
