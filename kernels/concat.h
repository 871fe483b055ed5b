// Concatenation along channels: a [B, Ca, S] and b [B, Cb, S] -> y [B, Ca + Cb, S] (S = H*W, or 1 for vectors).
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

DG_DECLARE_OP(concat_channels_forward, (Context & ctx, const float* a, const float* b, float* y, int B, int Ca, int Cb, int S),
              (a, b, y, B, Ca, Cb, S))
// Splits dy back into da and db (both overwritten; either may be null when not needed).
DG_DECLARE_OP(concat_channels_backward, (Context & ctx, const float* dy, float* da, float* db, int B, int Ca, int Cb, int S),
              (dy, da, db, B, Ca, Cb, S))

}  // namespace dg
