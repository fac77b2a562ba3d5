// The README's 20-line example, verbatim: a consumer project builds and runs it in all three ways.
#include <mien/mien.hpp>
using namespace mien;

int main() {
  Context ctx(/*seed=*/42);
  Sequential<float> net;
  net.emplace<Conv2D<float>>("conv", ctx, 1, 8, 3);
  net.emplace<ReLU<float>>("relu");
  net.emplace<MaxPool2D<float>>("pool", 2);
  net.emplace<Flatten<float>>("flatten");
  net.emplace<Dense<float>>("dense", ctx, 8 * 24 * 24, 7);
  SoftmaxCrossEntropy<float> loss;
  Adam<float> adam(AdamOptions{});  // lr 1e-4, decay 1e-6 (the paper's Table 3)

  Tensor<float> images = Tensor<float>::zeros(Shape{32, 1, 48, 48});
  Tensor<std::int32_t> labels = Tensor<std::int32_t>::zeros(Shape{32});
  const float l = loss.forward(ctx, net.forward(ctx, images, Mode::train), labels);
  net.backward(ctx, loss.backward(ctx));
  adam.step(ctx, net.params());
  return l > 0 ? 0 : 1;
}
