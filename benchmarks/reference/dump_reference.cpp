// Writes one training step of the paper network as a reference for other frameworks (benchmarks/reference/
// compare.py checks PyTorch and Keras against it): the weights, a seeded input batch and labels, the logits and
// loss of a training-mode forward (batch statistics, no dropout), and every gradient of the backward.
//
//   mien_dump_reference [--input-size 48|128] [--seed S] [--batch N] [--attention per_channel|paper_literal]
//                       [--precision float|double] [--out FILE]
//
// --precision double runs the same step in PaperNet<double> (same float-valued weights and input): fp32 runs of
// two libraries may take different sides of a ReLU or max-pool near a tie, after which their gradients differ
// for a reason that is no bug; in double that practically never happens, so the comparison checks the formulas.
//
// The file is a mien checkpoint (include/mien/io/checkpoint.hpp), float32 whatever the precision:
//   meta     {"config", "loss", "seed", "batch", "precision"}
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
  std::string precision = "float";
  std::string out = "mien_reference.ckpt";
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "%s\nusage: mien_dump_reference [--input-size 48|128] [--seed S] [--batch N] "
               "[--attention per_channel|paper_literal] [--precision float|double] [--out FILE]\n",
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
      else if (flag == "--precision") o.precision = value;
      else if (flag == "--out") o.out = value;
      else usage("unknown flag " + flag);
    } catch (const std::logic_error&) {
      usage("bad value '" + value + "' for " + flag);
    }
  }
  // Batch norm needs more than one value per channel; the head's batch norms see one per sample.
  if (o.batch < 2) usage("--batch must be at least 2");
  if (o.precision != "float" && o.precision != "double") usage("--precision must be float or double");
  return o;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() > tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Weights as float values in either precision, so that a float and a double run start from the same numbers and
// the float32 file holds them exactly. mien starts biases and batch-norm shifts at 0 and scales at 1; a reference
// run from there would not notice a bias added to the wrong channel, so those are drawn at random too.
template <class T>
void prepare_weights(PaperNet<T>& model, std::uint64_t seed) {
  std::uint32_t stream = 0xE0000000u;
  for (ParamRef<T>& p : model.params()) {
    const bool is_gamma = ends_with(p.name, ".gamma");
    const bool is_shift = ends_with(p.name, ".bias") || ends_with(p.name, ".beta");
    const RandomStream s{seed, ++stream, 0};
    for (std::size_t i = 0; i < p.value->numel(); ++i) {
      const float u = 2 * s.uniform(i) - 1;
      const float value = is_gamma ? 1 + 0.5f * u : is_shift ? 0.1f * u : static_cast<float>((*p.value)[i]);
      (*p.value)[i] = static_cast<T>(value);
    }
  }
}

template <class T>
Tensor<float> to_float(const Tensor<T>& t) {
  Tensor<float> out(t.shape());
  for (std::size_t i = 0; i < t.numel(); ++i) out[i] = static_cast<float>(t[i]);
  return out;
}

template <class T>
void dump_step(const Options& opt) {
  PaperNetConfig config;
  config.input_size = opt.input_size;
  config.attention = opt.attention;
  config.dropout = 0;  // no dropout layers: the other frameworks cannot reproduce mien's Philox masks
  Context ctx(opt.seed);
  PaperNet<T> model(ctx, config);
  prepare_weights(model, opt.seed);

  std::vector<std::pair<std::string, Tensor<float>>> stored;
  for (ParamRef<T>& p : model.params()) stored.emplace_back("param." + p.name, to_float(*p.value));
  for (BufferRef<T>& b : model.buffers()) stored.emplace_back("buffer." + b.name, to_float(*b.value));

  // Images in [0, 1) as the data loader gives them, labels uniform over the classes.
  const RandomStream input_stream{opt.seed, 0xD0000001u, 0}, label_stream{opt.seed, 0xD0000002u, 0};
  Tensor<T> input(model.input_shape(opt.batch));
  for (std::size_t i = 0; i < input.numel(); ++i) input[i] = static_cast<T>(input_stream.uniform(i));
  Tensor<std::int32_t> labels(Shape{opt.batch});
  Tensor<float> labels_float(Shape{opt.batch});
  for (std::int64_t i = 0; i < opt.batch; ++i) {
    labels[i] = std::min(static_cast<std::int32_t>(label_stream.uniform(i) * static_cast<float>(config.classes)),
                         static_cast<std::int32_t>(config.classes - 1));
    labels_float[i] = static_cast<float>(labels[i]);
  }

  SoftmaxCrossEntropy<T> loss_fn;
  const Tensor<T>& logits = model.forward(ctx, input, Mode::train);
  const T loss = loss_fn.forward(ctx, logits, labels);
  const Tensor<T>& input_grad = model.backward(ctx, loss_fn.backward(ctx));

  for (BufferRef<T>& b : model.buffers()) stored.emplace_back("updated." + b.name, to_float(*b.value));
  for (ParamRef<T>& p : model.params()) stored.emplace_back("grad." + p.name, to_float(*p.grad));
  stored.emplace_back("grad.input", to_float(input_grad));
  stored.emplace_back("input", to_float(input));
  stored.emplace_back("labels", labels_float);
  stored.emplace_back("logits", to_float(logits));

  std::vector<NamedTensor> tensors;
  for (const auto& t : stored) tensors.push_back({t.first, &t.second});
  const nlohmann::json meta{{"config", config},  {"loss", static_cast<double>(loss)}, {"seed", opt.seed},
                            {"batch", opt.batch}, {"precision", opt.precision == "double" ? "float64" : "float32"}};
  save_checkpoint(opt.out, meta, tensors);
  std::printf("wrote %s: %zu tensors, input %s, %s, loss %.6f\n", opt.out.c_str(), tensors.size(),
              input.shape().str().c_str(), opt.precision.c_str(), static_cast<double>(loss));
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  try {
    if (opt.precision == "double")
      dump_step<double>(opt);
    else
      dump_step<float>(opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mien_dump_reference: %s\n", e.what());
    return 1;
  }
  return 0;
}
