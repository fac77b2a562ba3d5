#pragma once
// Ensemble<T>: several trained models answering as one. forward returns log(mean_k softmax(member_k(x))), so the
// softmax of its output is the members' averaged probabilities: everything that reads logits (evaluate, test-time
// augmentation, predict, video) averages them without knowing it. The members take the same input and give the
// same number of classes. It is for inference only: backward is refused (each member trains on its own), and it
// offers no feature map (Grad-CAM explains one member at a time).
//
// Its architecture is {"type": "Ensemble", "input": [C, H, W], "members": [architecture, ...]}; the members'
// parameters are named "member1.<name>", "member2.<name>", ..., so one checkpoint holds them all.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mien/models/model.hpp"
#include "mien/ops/activation.hpp"

namespace mien {

template <class T>
class Ensemble : public Model<T> {
 public:
  explicit Ensemble(std::vector<std::unique_ptr<Model<T>>> members) : members_(std::move(members)) {
    check_arg(members_.size() >= 2, "Ensemble", "needs at least two models, got ", members_.size());
    const Shape input = members_[0]->input_shape(1), output = members_[0]->output_shape(input);
    for (std::size_t k = 1; k < members_.size(); ++k) {
      check_arg(members_[k]->input_shape(1) == input, "Ensemble", "member ", k + 1, " reads ",
                members_[k]->input_shape(1), ", member 1 reads ", input);
      check_arg(members_[k]->output_shape(input) == output, "Ensemble", "member ", k + 1, " gives ",
                members_[k]->output_shape(input), ", member 1 gives ", output);
    }
  }

  std::size_t size() const { return members_.size(); }
  Model<T>& member(std::size_t k) { return *members_.at(k); }

  std::string type() const override { return "Ensemble"; }
  nlohmann::json architecture() const override {
    nlohmann::json members = nlohmann::json::array();
    for (const auto& m : members_) members.push_back(m->architecture());
    const Shape in = input_shape(1);
    return {{"type", "Ensemble"}, {"input", {in.c(), in.h(), in.w()}}, {"members", members}};
  }
  Shape input_shape(std::int64_t batch) const override { return members_[0]->input_shape(batch); }
  Shape output_shape(const Shape& input) const override { return members_[0]->output_shape(input); }

  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode mode) override {
    check_arg(mode == Mode::infer, "Ensemble::forward", "an ensemble is for inference; train its members one by one");
    Tensor<T> sum;
    for (auto& m : members_) {
      ops::softmax_forward(ctx, m->forward(ctx, x, mode), probs_);
      const Tensor<T> p = probs_.to(Device::cpu);
      if (sum.numel() == 0) {
        sum = p;
      } else {
        for (std::size_t i = 0; i < sum.numel(); ++i) sum[i] += p[i];
      }
    }
    // [N, classes] values: the log is taken on the host, then the result goes back to the members' device.
    const T count = static_cast<T>(members_.size());
    for (std::size_t i = 0; i < sum.numel(); ++i)
      sum[i] = std::log(std::max(sum[i] / count, std::numeric_limits<T>::min()));  // finite where all said 0
    out_ = sum.to(x.device());
    return out_;
  }
  const Tensor<T>& backward(Context&, const Tensor<T>&) override {
    throw InvalidArgument("Ensemble::backward: an ensemble is for inference; train its members one by one");
  }

  std::vector<SummaryRow> summary(std::int64_t batch = 1) override {
    std::vector<SummaryRow> rows;
    for (std::size_t k = 0; k < members_.size(); ++k)
      for (SummaryRow row : members_[k]->summary(batch)) {
        row.name = member_name(k) + "." + row.name;
        rows.push_back(std::move(row));
      }
    return rows;
  }
  std::vector<ParamRef<T>> params() override {
    std::vector<ParamRef<T>> out;
    for (std::size_t k = 0; k < members_.size(); ++k) append(out, prefixed(member_name(k), members_[k]->params()));
    return out;
  }
  std::vector<BufferRef<T>> buffers() override {
    std::vector<BufferRef<T>> out;
    for (std::size_t k = 0; k < members_.size(); ++k) append(out, prefixed(member_name(k), members_[k]->buffers()));
    return out;
  }
  void to(Device device) override {
    for (auto& m : members_) m->to(device);
  }
  std::int64_t macs(const Shape& input) const override {
    std::int64_t total = 0;
    for (const auto& m : members_) total += m->macs(input);
    return total;
  }

 private:
  static std::string member_name(std::size_t k) { return "member" + std::to_string(k + 1); }

  std::vector<std::unique_ptr<Model<T>>> members_;
  Tensor<T> probs_, out_;
};

}  // namespace mien
