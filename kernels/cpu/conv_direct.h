// Direct 3x3 stride-1 convolutions for the CPU (AVX-512), used by kernels/cpu/conv.cpp in place of im2col + GEMM
// where they apply, and the switch that chooses between the two paths. See kernels/cpu/conv_direct.cpp for the
// layout they compute in.
#pragma once
#include "kernels/conv.h"

namespace dg::cpu {

// Which algorithm the CPU convolutions use for 3x3 stride-1 layers. Direct (the default where the CPU has
// AVX-512F) runs the kernels below; Gemm lowers every layer to im2col + OpenBLAS. $DIGITGEN_CPU_CONV=gemm starts
// the process on Gemm; the benchmark and the tests switch per run.
enum class CpuConvPath { Direct, Gemm };
CpuConvPath cpu_conv_path();
void set_cpu_conv_path(CpuConvPath path);

// Whether this CPU can run the direct kernels at all (AVX-512F).
bool direct_conv_supported();
// Whether a convolution of geometry g takes the direct kernels now: 3x3, stride 1, pad at most 2, the path set to
// Direct and the CPU able to.
bool direct_conv_applies(const ConvGeom& g);

// y [B, Cout, Ho, Wo] = conv(x, w) for a geometry where direct_conv_applies. With `turned`, w is the weight of
// the convolution whose input gradient this is: laid out [Cin, Cout, 3, 3] (this geometry's Cin and Cout) and used
// turned by 180 degrees with its channel axes swapped, so no turned copy has to be made.
void direct_conv_forward(Context& ctx, const ConvGeom& g, const float* x, const float* w, bool turned, float* y);

// dw [Cout, Cin, 3, 3] (+)= the filter gradient, summed over the batch in a fixed order (the same bits for any
// thread count).
void direct_conv_backward_filter(Context& ctx, const ConvGeom& g, const float* x, const float* dy, float* dw,
                                 Grad mode);

}  // namespace dg::cpu
