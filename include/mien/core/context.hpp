#pragma once
// Context: the explicit state every op and layer receives. It carries the RNG seed and the training step (which
// together key every random stream), the default device, the convolution backend choice, and the CUDA state
// (stream, cuBLAS and cuDNN handles, workspace), which the CUDA backend creates on first use. No globals.
#include <cstdint>
#include <memory>

#include "mien/core/device.hpp"
#include "mien/core/philox.hpp"

namespace mien {

// How convolutions run on the GPU: mien's own kernels in fp32, its tensor-core TF32 kernels, or cuDNN.
// The CPU backend ignores it.
enum class ConvBackend { native, native_tf32, cudnn };

// How 3×3 convolutions run on the CPU: Winograd F(2×2, 3×3) where it pays (cpu/conv2d_winograd.hpp), or always
// im2col + GEMM (the reference path, and the baseline of benchmarks). Other kernel sizes always use im2col.
enum class CpuConv { automatic, im2col };

class Context {
 public:
  explicit Context(std::uint64_t seed = 0, Device device = Device::cpu) : seed_(seed), device_(device) {}

  std::uint64_t seed() const { return seed_; }
  void set_seed(std::uint64_t seed) { seed_ = seed; }

  // The training step keys dropout masks: repeated forwards within one step see one mask (gradient checks
  // rely on it), the next step sees a fresh one, and a resumed run sees the masks the first run would have.
  std::uint64_t step() const { return step_; }
  void set_step(std::uint64_t step) { step_ = step; }
  void advance_step() { ++step_; }

  // Stream `id` of this context's random numbers at the current step.
  RandomStream random_stream(std::uint32_t id) const { return RandomStream{seed_, id, step_}; }

  // A fresh id for a random consumer (each layer that draws numbers takes one when it is built), so that
  // building the same network with the same seed gives the same weights and masks.
  std::uint32_t next_stream_id() { return ++stream_counter_; }

  Device device() const { return device_; }
  void set_device(Device device) { device_ = device; }

  ConvBackend conv_backend() const { return conv_backend_; }
  void set_conv_backend(ConvBackend backend) { conv_backend_ = backend; }

  CpuConv cpu_conv() const { return cpu_conv_; }
  void set_cpu_conv(CpuConv algorithm) { cpu_conv_ = algorithm; }

  // Opaque slot owned by the CUDA backend (mien/kernels/device_state.cuh); empty on the CPU.
  std::shared_ptr<void>& backend_state() { return backend_state_; }

 private:
  std::uint64_t seed_ = 0;
  std::uint64_t step_ = 0;
  std::uint32_t stream_counter_ = 0;
  Device device_ = Device::cpu;
  ConvBackend conv_backend_ = ConvBackend::native;
  CpuConv cpu_conv_ = CpuConv::automatic;
  std::shared_ptr<void> backend_state_;
};

}  // namespace mien
