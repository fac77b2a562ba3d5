// The smallest program a user writes: a dense layer, ReLU, a forward and a backward pass on the CPU.
#include <cstdio>

#include <mien/mien.hpp>

int main() {
  mien::Context ctx(/*seed=*/1);
  mien::Dense<float> dense(ctx, /*inputs=*/4, /*outputs=*/3);
  mien::ReLU<float> relu;
  mien::Tensor<float> x(mien::Shape{2, 4}, {1, 2, 3, 4, -1, -2, -3, -4});
  const auto& y = relu.forward(ctx, dense.forward(ctx, x, mien::Mode::train), mien::Mode::train);
  const auto& dx = dense.backward(ctx, relu.backward(ctx, y));
  std::printf("y %s, dx %s\n", y.shape().str().c_str(), dx.shape().str().c_str());
  return y.shape() == mien::Shape({2, 3}) && dx.shape() == x.shape() ? 0 : 1;
}
