#pragma once
// Tensor<T>: an owning, contiguous, row-major (NCHW) array on one device. Copies are deep; moves are cheap.
// Element access through operator[] and at() is for host tensors; device tensors are filled and read with
// to(Device::cpu) / copy_from_host(), and computed on through the ops layer.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "mien/core/config.hpp"
#include "mien/core/cuda_check.hpp"
#include "mien/core/device.hpp"
#include "mien/core/error.hpp"
#include "mien/core/shape.hpp"

namespace mien {

namespace detail {

// Host buffers are 64-byte aligned so that Eigen and the compiler can use full-width vector loads.
constexpr std::size_t host_alignment = 64;

struct StorageDeleter {
  Device device = Device::cpu;
  void operator()(void* p) const noexcept {
    if (!p) return;
    if (device == Device::cpu) {
      std::free(p);
      return;
    }
#if MIEN_WITH_CUDA
    cudaFree(p);
#endif
  }
};

inline void* allocate(std::size_t bytes, Device device) {
  if (bytes == 0) return nullptr;
  if (device == Device::cpu) {
    const std::size_t rounded = (bytes + host_alignment - 1) / host_alignment * host_alignment;
    void* p = std::aligned_alloc(host_alignment, rounded);
    if (!p) throw std::bad_alloc();
    return p;
  }
#if MIEN_WITH_CUDA
  return cuda::device_malloc(bytes, "Tensor");
#else
  throw DeviceError("Tensor: this build has no CUDA support (compile with nvcc or -DMIEN_CUDA=ON)");
#endif
}

// Copies bytes between any two devices.
inline void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, std::size_t bytes) {
  if (bytes == 0) return;
  if (dst_dev == Device::cpu && src_dev == Device::cpu) {
    std::memcpy(dst, src, bytes);
    return;
  }
#if MIEN_WITH_CUDA
  const cudaMemcpyKind kind = src_dev == Device::cpu   ? cudaMemcpyHostToDevice
                              : dst_dev == Device::cpu ? cudaMemcpyDeviceToHost
                                                       : cudaMemcpyDeviceToDevice;
  cuda::check(cudaMemcpy(dst, src, bytes, kind), "Tensor copy");
#else
  throw DeviceError("Tensor: this build has no CUDA support (compile with nvcc or -DMIEN_CUDA=ON)");
#endif
}

}  // namespace detail

template <class T>
class Tensor {
  static_assert(std::is_trivially_copyable_v<T>, "Tensor holds plain numbers");

 public:
  using value_type = T;

  Tensor() = default;
  explicit Tensor(const Shape& shape, Device device = Device::cpu) : shape_(shape), device_(device) {
    reallocate(static_cast<std::size_t>(shape.numel()));
  }
  // A host tensor holding the given values (row-major); their count must match the shape.
  Tensor(const Shape& shape, std::initializer_list<T> values) : Tensor(shape) {
    check_arg(static_cast<std::int64_t>(values.size()) == shape.numel(), "Tensor", "got ", values.size(),
              " values for shape ", shape);
    std::copy(values.begin(), values.end(), data());
  }
  static Tensor zeros(const Shape& shape, Device device = Device::cpu) {
    Tensor t(shape, device);
    t.set_zero();
    return t;
  }
  static Tensor filled(const Shape& shape, T value) {
    Tensor t(shape);
    std::fill(t.begin(), t.end(), value);
    return t;
  }
  static Tensor from_vector(const Shape& shape, const std::vector<T>& values) {
    Tensor t(shape);
    check_arg(static_cast<std::int64_t>(values.size()) == shape.numel(), "Tensor", "got ", values.size(),
              " values for shape ", shape);
    std::copy(values.begin(), values.end(), t.data());
    return t;
  }

  Tensor(const Tensor& other) : shape_(other.shape_), device_(other.device_) {
    reallocate(other.numel());
    detail::copy_bytes(data(), device_, other.data(), other.device_, bytes());
  }
  Tensor& operator=(const Tensor& other) {
    if (this == &other) return *this;
    if (device_ != other.device_ || capacity_ < static_cast<std::size_t>(other.numel())) {
      device_ = other.device_;
      reallocate(other.numel());
    }
    shape_ = other.shape_;
    detail::copy_bytes(data(), device_, other.data(), other.device_, bytes());
    return *this;
  }
  Tensor(Tensor&& other) noexcept
      : shape_(other.shape_), device_(other.device_), storage_(std::move(other.storage_)), capacity_(other.capacity_) {
    other.shape_ = Shape();
    other.capacity_ = 0;
  }
  Tensor& operator=(Tensor&& other) noexcept {
    shape_ = other.shape_;
    device_ = other.device_;
    storage_ = std::move(other.storage_);
    capacity_ = other.capacity_;
    other.shape_ = Shape();
    other.capacity_ = 0;
    return *this;
  }

  const Shape& shape() const { return shape_; }
  Device device() const { return device_; }
  std::size_t numel() const { return static_cast<std::size_t>(shape_.numel()); }
  std::size_t bytes() const { return numel() * sizeof(T); }
  bool empty() const { return numel() == 0; }
  bool is_cpu() const { return device_ == Device::cpu; }

  T* data() { return static_cast<T*>(storage_.get()); }
  const T* data() const { return static_cast<const T*>(storage_.get()); }

  // Host element access.
  T* begin() { return data(); }
  T* end() { return data() + numel(); }
  const T* begin() const { return data(); }
  const T* end() const { return data() + numel(); }
  T& operator[](std::size_t i) { return data()[i]; }
  const T& operator[](std::size_t i) const { return data()[i]; }
  T& at(std::int64_t n, std::int64_t c, std::int64_t h = 0, std::int64_t w = 0) { return data()[offset(n, c, h, w)]; }
  const T& at(std::int64_t n, std::int64_t c, std::int64_t h = 0, std::int64_t w = 0) const {
    return data()[offset(n, c, h, w)];
  }

  // Gives the tensor a new shape; keeps the storage when it is large enough (contents are then unspecified).
  void resize(const Shape& shape) {
    if (static_cast<std::size_t>(shape.numel()) > capacity_) reallocate(shape.numel());
    shape_ = shape;
  }
  // Same as resize, on a given device.
  void resize(const Shape& shape, Device device) {
    if (device != device_) {
      device_ = device;
      capacity_ = 0;
      storage_.reset();
    }
    resize(shape);
  }
  // Reinterprets the same elements under another shape of equal size (Flatten uses it).
  void reshape(const Shape& shape) {
    check_arg(shape.numel() == shape_.numel(), "Tensor::reshape", "cannot view ", shape_, " as ", shape);
    shape_ = shape;
  }
  Tensor reshaped(const Shape& shape) const {
    Tensor t(*this);
    t.reshape(shape);
    return t;
  }

  void set_zero() {
    if (numel() == 0) return;
    if (device_ == Device::cpu) {
      std::memset(data(), 0, bytes());
      return;
    }
#if MIEN_WITH_CUDA
    cuda::check(cudaMemset(data(), 0, bytes()), "Tensor::set_zero");
#endif
  }

  // A copy on the given device (a plain copy when it is already there).
  Tensor to(Device device) const {
    Tensor t(shape_, device);
    detail::copy_bytes(t.data(), device, data(), device_, bytes());
    return t;
  }
  std::vector<T> to_vector() const {
    std::vector<T> v(numel());
    detail::copy_bytes(v.data(), Device::cpu, data(), device_, bytes());
    return v;
  }
  // Takes src's shape and values, keeping this tensor's device (the host-to-GPU batch upload).
  void copy_from(const Tensor& src) {
    resize(src.shape());
    detail::copy_bytes(data(), device_, src.data(), src.device_, bytes());
  }
  void copy_from_host(const T* src, std::size_t count) {
    check_arg(count == numel(), "Tensor::copy_from_host", "got ", count, " values for shape ", shape_);
    detail::copy_bytes(data(), device_, src, Device::cpu, bytes());
  }

 private:
  std::size_t offset(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) const {
    return static_cast<std::size_t>(((n * shape_.c() + c) * shape_.h() + h) * shape_.w() + w);
  }
  void reallocate(std::size_t count) {
    storage_ = std::unique_ptr<void, detail::StorageDeleter>(detail::allocate(count * sizeof(T), device_),
                                                             detail::StorageDeleter{device_});
    capacity_ = count;
  }

  Shape shape_;
  Device device_ = Device::cpu;
  std::unique_ptr<void, detail::StorageDeleter> storage_{nullptr, detail::StorageDeleter{}};
  std::size_t capacity_ = 0;
};

// Throws unless the tensors have the expected shape (used by every op to validate its arguments).
template <class T>
void check_shape(const Tensor<T>& t, const Shape& expected, const char* op, const char* name) {
  check_arg(t.shape() == expected, op, name, " has shape ", t.shape(), ", expected ", expected);
}

template <class T, class... Rest>
void check_same_device(const char* op, const Tensor<T>& first, const Rest&... rest) {
  const bool same = ((rest.device() == first.device()) && ...);
  if (same) return;
  std::string devices = to_string(first.device());
  ((devices += std::string(", ") + to_string(rest.device())), ...);
  throw InvalidArgument(detail::concat(op, ": tensors are on different devices (", devices, ", in argument order)"));
}

}  // namespace mien
