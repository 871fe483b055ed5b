// Marks functions compiled for both host and device, so the CPU reference and the CUDA kernel share
// the very same math (activations, Adam, reparameterization, Philox).
#pragma once
#if defined(__CUDACC__)
#define DG_HD __host__ __device__ __forceinline__
#else
#define DG_HD inline
#endif
