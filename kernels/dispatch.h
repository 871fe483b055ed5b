// How an op picks its backend: every op `foo` has dg::cpu::foo (the reference, the spec) and dg::cuda::foo
// (the launcher) with the same signature, and an inline dg::foo that calls the one matching ctx.device().
#pragma once
#include "runtime/context.h"
#include "runtime/error.h"

namespace dg {

// Whether a backward pass adds into a gradient buffer or replaces its contents. Parameter gradients
// accumulate (a parameter may be used twice); activation gradients overwrite.
enum class Grad { Overwrite, Accumulate };

}  // namespace dg

#if DIGITGEN_HAVE_CUDA
#define DG_DISPATCH(ctx, fn, ...) \
  ((ctx).on_gpu() ? ::dg::cuda::fn((ctx), __VA_ARGS__) : ::dg::cpu::fn((ctx), __VA_ARGS__))
#else
#define DG_DISPATCH(ctx, fn, ...) ::dg::cpu::fn((ctx), __VA_ARGS__)
#endif

// Declares an op's CPU reference, its CUDA launcher and the dispatching entry point in one go.
// Usage: DG_DECLARE_OP(relu_forward, (Context& ctx, const float* x, float* y, int64_t n), (x, y, n))
#define DG_DECLARE_OP(fn, params, args)              \
  namespace cpu { void fn params; }                  \
  namespace cuda { void fn params; }                 \
  inline void fn params { DG_DISPATCH(ctx, fn, DG_STRIP_CTX args); }

// Helper: the dispatch macro adds ctx itself, so `args` lists the remaining arguments.
#define DG_STRIP_CTX(...) __VA_ARGS__
