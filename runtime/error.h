// Errors: one exception type for everything a user can cause or see, and the host-side check macro.
// CUDA, cuBLAS and cuDNN checks live in runtime/cuda_check.h (compiled only with the CUDA backend).
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace dg {

// A failure with a message meant for the user: names the file, field or statement and what was expected.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw Error(os.str());
}

}  // namespace dg

// DG_REQUIRE(cond, parts...): throw dg::Error built from parts when cond is false.
#define DG_REQUIRE(cond, ...)                 \
  do {                                        \
    if (!(cond)) ::dg::fail(__VA_ARGS__);     \
  } while (0)
