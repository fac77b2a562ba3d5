// Parameter names are how checkpoints find tensors, so two tensors of one name must never get as far as a file:
// a model that would have them is refused when it is built, a writer refuses to save them and a loader refuses to
// fill them. The case that slipped through: PaperNetConfig{stream_kernels = {3, 3}} named both streams "stream3",
// and a resumed model silently got stream one's weights in stream two.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mien/io/checkpoint.hpp"
#include "mien/layers/activation.hpp"
#include "mien/layers/dense.hpp"
#include "mien/layers/sequential.hpp"
#include "mien/models/paper_net.hpp"
#include "../support/temp_dir.hpp"

using namespace mien;

TEST_CASE("A paper network with two streams of one kernel size is refused when it is built", "[names][paper_net]") {
  PaperNetConfig c;
  c.input_size = 16;
  c.stream_kernels = {3, 3};
  Context ctx(1);
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("stream kernel 3 is given twice"));
  CHECK_THROWS_AS(PaperNet<float>(ctx, c), InvalidArgument);
  c.stream_kernels = {3, 5, 7};  // distinct sizes stay fine
  CHECK_NOTHROW(PaperNet<float>(ctx, c));
}

TEST_CASE("Sequential refuses a layer name that is already taken, or none", "[names][sequential]") {
  Context ctx(1);
  Sequential<float> net;
  net.emplace<Dense<float>>("dense", ctx, 4, 3);
  net.emplace<ReLU<float>>("relu");
  CHECK_THROWS_WITH(net.emplace<Dense<float>>("dense", ctx, 3, 2),
                    Catch::Contains("the name 'dense' is already taken by a Dense layer"));
  CHECK_THROWS_WITH(net.emplace<ReLU<float>>(""), Catch::Contains("a layer needs a name"));
  CHECK(net.size() == 2);
  CHECK(repeated_name(state_names(net)).empty());
}

TEST_CASE("Checkpoints refuse to save or fill two tensors of one name", "[names][checkpoint]") {
  testing::TempDir dir("mien-names");
  const std::string path = (dir.path() / "names.ckpt").string();
  Tensor<float> a = Tensor<float>::zeros(Shape{2}), b = Tensor<float>::zeros(Shape{2});
  CHECK_THROWS_WITH(save_checkpoint(path, {}, {{"w", &a}, {"w", &b}}),
                    Catch::Contains("the tensor name 'w' occurs twice"));
  CHECK_FALSE(std::filesystem::exists(path));

  a[0] = 1;
  b[0] = 2;
  save_checkpoint(path, {}, {{"w", &a}, {"v", &b}});
  const Checkpoint ckpt = read_checkpoint(path);
  Tensor<float> x = Tensor<float>::zeros(Shape{2}), y = Tensor<float>::zeros(Shape{2});
  CHECK_THROWS_WITH(load_named<float>(ckpt, "", {{"w", &x}, {"w", &y}}, "names.ckpt"),
                    Catch::Contains("the tensor name 'w' occurs twice"));
  load_named<float>(ckpt, "", {{"w", &x}, {"v", &y}}, "names.ckpt");
  CHECK(x[0] == 1);
  CHECK(y[0] == 2);
}
