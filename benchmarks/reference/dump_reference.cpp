// Writes one training step of the paper network as a reference for other frameworks (benchmarks/reference/
// compare.py checks PyTorch and Keras against it): the weights, a seeded input batch and labels, the logits and
// loss of a training-mode forward (batch statistics, no dropout), and every gradient of the backward.
//
//   mien_dump_reference [--input-size 48|128] [--seed S] [--batch N] [--attention per_channel|paper_literal]
//                       [--out FILE]
//
// The file is a mien checkpoint (include/mien/io/checkpoint.hpp):
//   meta     {"config", "loss", "seed", "batch"}
//   tensors  "param.<name>"    weights as used by the forward
//            "buffer.<name>"   batch-norm running statistics before the forward (what the others start from)
//            "updated.<name>"  the same after the forward (one momentum step toward the batch statistics)
//            "grad.<name>"     dL/d(every parameter),  "grad.input"  dL/d(input)
//            "input" [N, 1, S, S], "labels" [N] (as float), "logits" [N, classes]
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mien/io/checkpoint.hpp"
#include "mien/mien.hpp"

using namespace mien;

namespace {

struct Options {
  std::int64_t input_size = 48;
  std::uint64_t seed = 1;
  std::int64_t batch = 16;
  std::string attention = "per_channel";
  std::string out = "mien_reference.ckpt";
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "%s\nusage: mien_dump_reference [--input-size 48|128] [--seed S] [--batch N] "
               "[--attention per_channel|paper_literal] [--out FILE]\n",
               problem.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage("missing value after " + flag);
    const std::string value = argv[++i];
    try {
      if (flag == "--input-size") o.input_size = std::stoll(value);
      else if (flag == "--seed") o.seed = std::stoull(value);
      else if (flag == "--batch") o.batch = std::stoll(value);
      else if (flag == "--attention") o.attention = value;
      else if (flag == "--out") o.out = value;
      else usage("unknown flag " + flag);
    } catch (const std::logic_error&) {
      usage("bad value '" + value + "' for " + flag);
    }
  }
  // Batch norm needs more than one value per channel; the head's batch norms see one per sample.
  if (o.batch < 2) usage("--batch must be at least 2");
  return o;
}

// mien starts biases and batch-norm shifts at 0 and scales at 1; a reference run from there would not notice a
// bias added to the wrong channel. Moving them to random values exercises those paths too.
void randomize_affine_params(PaperNet<float>& model, std::uint64_t seed) {
  std::uint32_t stream = 0xE0000000u;
  for (ParamRef<float>& p : model.params()) {
    const std::string& n = p.name;
    const bool is_gamma = n.size() > 6 && n.compare(n.size() - 6, 6, ".gamma") == 0;
    const bool is_shift = (n.size() > 5 && n.compare(n.size() - 5, 5, ".bias") == 0) ||
                          (n.size() > 5 && n.compare(n.size() - 5, 5, ".beta") == 0);
    if (!is_gamma && !is_shift) continue;
    const RandomStream s{seed, ++stream, 0};
    for (std::size_t i = 0; i < p.value->numel(); ++i) {
      const float u = 2 * s.uniform(i) - 1;
      (*p.value)[i] = is_gamma ? 1 + 0.5f * u : 0.1f * u;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  try {
    PaperNetConfig config;
    config.input_size = opt.input_size;
    config.attention = opt.attention;
    config.dropout = 0;  // no dropout layers: the other frameworks cannot reproduce mien's Philox masks
    Context ctx(opt.seed);
    PaperNet<float> model(ctx, config);
    randomize_affine_params(model, opt.seed);

    std::vector<std::pair<std::string, Tensor<float>>> buffers_before;
    for (BufferRef<float>& b : model.buffers()) buffers_before.emplace_back(b.name, *b.value);

    // Images in [0, 1) as the data loader gives them, labels uniform over the classes.
    const RandomStream input_stream{opt.seed, 0xD0000001u, 0}, label_stream{opt.seed, 0xD0000002u, 0};
    Tensor<float> input(model.input_shape(opt.batch));
    for (std::size_t i = 0; i < input.numel(); ++i) input[i] = input_stream.uniform(i);
    Tensor<std::int32_t> labels(Shape{opt.batch});
    Tensor<float> labels_float(Shape{opt.batch});
    for (std::int64_t i = 0; i < opt.batch; ++i) {
      labels[i] = std::min(static_cast<std::int32_t>(label_stream.uniform(i) * config.classes),
                           static_cast<std::int32_t>(config.classes - 1));
      labels_float[i] = static_cast<float>(labels[i]);
    }

    SoftmaxCrossEntropy<float> loss_fn;
    const Tensor<float> logits = model.forward(ctx, input, Mode::train);
    const float loss = loss_fn.forward(ctx, logits, labels);
    const Tensor<float>& input_grad = model.backward(ctx, loss_fn.backward(ctx));

    std::vector<NamedTensor> tensors;
    std::vector<ParamRef<float>> params = model.params();
    std::vector<BufferRef<float>> buffers = model.buffers();
    for (const ParamRef<float>& p : params) tensors.push_back({"param." + p.name, p.value});
    for (const auto& b : buffers_before) tensors.push_back({"buffer." + b.first, &b.second});
    for (const BufferRef<float>& b : buffers) tensors.push_back({"updated." + b.name, b.value});
    for (const ParamRef<float>& p : params) tensors.push_back({"grad." + p.name, p.grad});
    tensors.push_back({"grad.input", &input_grad});
    tensors.push_back({"input", &input});
    tensors.push_back({"labels", &labels_float});
    tensors.push_back({"logits", &logits});

    const nlohmann::json meta{{"config", config}, {"loss", loss}, {"seed", opt.seed}, {"batch", opt.batch}};
    save_checkpoint(opt.out, meta, tensors);
    std::printf("wrote %s: %zu tensors, input %s, loss %.6f\n", opt.out.c_str(), tensors.size(), input.shape().str().c_str(),
                static_cast<double>(loss));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mien_dump_reference: %s\n", e.what());
    return 1;
  }
  return 0;
}
