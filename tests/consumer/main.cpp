// The README's example, verbatim: a consumer project builds and runs it in all three ways.
#include <mien/mien.hpp>
using namespace mien;

int main() {
  Context ctx(/*seed=*/42);
  Net<float> net({nn::conv(8, 3), nn::relu(), nn::max_pool(), nn::flatten(), nn::dense(7)});
  SoftmaxCrossEntropy<float> loss;
  Adam<float> adam;  // lr 1e-4, decay 1e-6 (the paper's Table 3)

  Tensor<float> images = Tensor<float>::zeros(Shape{32, 1, 48, 48});
  Tensor<std::int32_t> labels = Tensor<std::int32_t>::zeros(Shape{32});
  const float l = loss.forward(ctx, net.forward(ctx, images, Mode::train), labels);  // builds it for 1x48x48
  net.backward(ctx, loss.backward(ctx));
  adam.step(ctx, net.params());
  return l > 0 ? 0 : 1;
}
