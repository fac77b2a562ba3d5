#pragma once
// Shape of a tensor: up to four extents, NCHW for images, (N, features) for dense data.
#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <sstream>
#include <string>

#include "mien/core/error.hpp"

namespace mien {

class Shape {
 public:
  static constexpr int max_rank = 4;

  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims) {
    check_arg(dims.size() <= max_rank, "Shape", "rank ", dims.size(), " exceeds ", max_rank);
    for (std::int64_t d : dims) {
      check_arg(d >= 0, "Shape", "negative extent ", d);
      dims_[rank_++] = d;
    }
  }
  template <class It>
  static Shape from_range(It first, It last) {
    Shape s;
    for (; first != last; ++first) {
      check_arg(s.rank_ < max_rank, "Shape", "rank exceeds ", max_rank);
      check_arg(*first >= 0, "Shape", "negative extent ", *first);
      s.dims_[s.rank_++] = static_cast<std::int64_t>(*first);
    }
    return s;
  }

  int rank() const { return rank_; }
  std::int64_t operator[](int i) const { return dims_[i]; }
  // A shape of rank 0 holds nothing (mien has no scalar tensors): a default Tensor is empty.
  std::int64_t numel() const {
    if (rank_ == 0) return 0;
    std::int64_t n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[i];
    return n;
  }
  // NCHW accessors for rank-4 shapes; for rank 2 (N, F), c() is F and h() = w() = 1.
  std::int64_t n() const { return rank_ > 0 ? dims_[0] : 1; }
  std::int64_t c() const { return rank_ > 1 ? dims_[1] : 1; }
  std::int64_t h() const { return rank_ > 2 ? dims_[2] : 1; }
  std::int64_t w() const { return rank_ > 3 ? dims_[3] : 1; }
  // Elements per sample (everything after the batch dimension).
  std::int64_t per_sample() const { return rank_ > 0 ? numel() / (dims_[0] ? dims_[0] : 1) : 1; }

  bool operator==(const Shape& o) const {
    if (rank_ != o.rank_) return false;
    for (int i = 0; i < rank_; ++i)
      if (dims_[i] != o.dims_[i]) return false;
    return true;
  }
  bool operator!=(const Shape& o) const { return !(*this == o); }

  std::string str() const {
    std::ostringstream s;
    s << '[';
    for (int i = 0; i < rank_; ++i) s << (i ? ", " : "") << dims_[i];
    s << ']';
    return s.str();
  }

 private:
  std::array<std::int64_t, max_rank> dims_{};
  int rank_ = 0;
};

inline std::ostream& operator<<(std::ostream& out, const Shape& s) { return out << s.str(); }

}  // namespace mien
