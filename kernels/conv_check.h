// Validation of a ConvGeom, shared by the CPU and CUDA convolutions so both reject the same shapes with the same
// message.
#pragma once
#include "kernels/conv.h"

namespace dg {

inline void check_conv_geom(const ConvGeom& g) {
  DG_REQUIRE(g.B >= 0 && g.Cin > 0 && g.Cout > 0 && g.K > 0 && g.stride > 0 && g.pad >= 0, "conv: bad geometry B=",
             g.B, " Cin=", g.Cin, " Cout=", g.Cout, " K=", g.K, " stride=", g.stride, " pad=", g.pad);
  DG_REQUIRE(g.H + 2 * g.pad >= g.K && g.W + 2 * g.pad >= g.K, "conv: kernel ", g.K, " larger than padded input ",
             g.H, "x", g.W, " (pad ", g.pad, ")");
}

}  // namespace dg
