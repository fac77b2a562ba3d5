#pragma once
// Follows faces from frame to frame of a video: each detection joins the track whose last box it overlaps most
// (intersection over union at least min_iou, greedy, best pairs first), or starts a new track; a track that finds no
// detection for more than max_missed frames ends. Each track keeps its class probabilities smoothed over time
// (an exponential moving average), so that one odd frame does not flip the emotion shown.
#include <algorithm>
#include <cstddef>
#include <tuple>
#include <vector>

#include "mien/core/error.hpp"
#include "mien/faces/face_detector.hpp"

namespace mien {

struct TrackerOptions {
  double min_iou = 0.3;    // the least overlap that continues a track
  double smoothing = 0.6;  // weight of the past in the moving average (0: no smoothing)
  int max_missed = 5;      // frames a track survives without a detection
};

struct FaceTrack {
  int id = 0;
  FaceBox box;
  std::vector<float> probabilities;  // smoothed
  int frames = 0;                    // frames with a detection
  int missed = 0;                    // frames since the last detection
};

class FaceTracker {
 public:
  explicit FaceTracker(TrackerOptions options = {}) : options_(options) {
    check_arg(options_.min_iou > 0 && options_.min_iou <= 1, "FaceTracker", "min_iou must be in (0, 1], got ",
              options_.min_iou);
    check_arg(options_.smoothing >= 0 && options_.smoothing < 1, "FaceTracker", "smoothing must be in [0, 1), got ",
              options_.smoothing);
    check_arg(options_.max_missed >= 0, "FaceTracker", "max_missed must not be negative");
  }

  // One frame's detections and their probabilities; returns the index into tracks() of each detection's track.
  std::vector<std::size_t> update(const std::vector<FaceBox>& boxes, const std::vector<std::vector<float>>& probs) {
    check_arg(boxes.size() == probs.size(), "FaceTracker::update", "one probability vector per box: got ", boxes.size(),
              " boxes and ", probs.size(), " vectors");
    std::vector<std::tuple<double, std::size_t, std::size_t>> pairs;  // (overlap, track, detection)
    for (std::size_t t = 0; t < tracks_.size(); ++t)
      for (std::size_t d = 0; d < boxes.size(); ++d) {
        const double iou = box_iou(tracks_[t].box, boxes[d]);
        if (iou >= options_.min_iou) pairs.emplace_back(iou, t, d);
      }
    std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return std::get<0>(a) > std::get<0>(b); });
    constexpr std::size_t none = static_cast<std::size_t>(-1);
    std::vector<std::size_t> track_of(boxes.size(), none);
    std::vector<bool> taken(tracks_.size(), false);
    for (const auto& [iou, t, d] : pairs) {
      if (taken[t] || track_of[d] != none) continue;
      taken[t] = true;
      track_of[d] = t;
    }
    for (std::size_t t = 0; t < tracks_.size(); ++t)
      if (!taken[t]) ++tracks_[t].missed;
    for (std::size_t d = 0; d < boxes.size(); ++d) {
      if (track_of[d] == none) {
        FaceTrack fresh;
        fresh.id = next_id_++;
        fresh.probabilities = probs[d];
        tracks_.push_back(fresh);
        track_of[d] = tracks_.size() - 1;
      } else {
        FaceTrack& t = tracks_[track_of[d]];
        check_arg(t.probabilities.size() == probs[d].size(), "FaceTracker::update", "probability vectors change size");
        const float a = static_cast<float>(options_.smoothing);
        for (std::size_t c = 0; c < probs[d].size(); ++c) t.probabilities[c] = a * t.probabilities[c] + (1 - a) * probs[d][c];
      }
      FaceTrack& t = tracks_[track_of[d]];
      t.box = boxes[d];
      t.missed = 0;
      ++t.frames;
    }
    // Drop tracks gone too long, keeping the indices returned valid.
    std::vector<FaceTrack> kept;
    std::vector<std::size_t> new_index(tracks_.size(), none);
    for (std::size_t t = 0; t < tracks_.size(); ++t)
      if (tracks_[t].missed <= options_.max_missed) {
        new_index[t] = kept.size();
        kept.push_back(std::move(tracks_[t]));
      }
    tracks_ = std::move(kept);
    for (std::size_t& t : track_of) t = new_index[t];
    return track_of;
  }

  const std::vector<FaceTrack>& tracks() const { return tracks_; }

 private:
  TrackerOptions options_;
  std::vector<FaceTrack> tracks_;
  int next_id_ = 1;
};

}  // namespace mien
