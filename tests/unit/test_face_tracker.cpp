// Following faces across frames (faces/face_tracker.hpp): matching by overlap, new and ended tracks, smoothing.
#include <catch2/catch.hpp>

#include <vector>

#include "mien/faces/face_tracker.hpp"

using namespace mien;

TEST_CASE("Faces keep their track while their boxes overlap, and probabilities are smoothed", "[faces]") {
  TrackerOptions options;
  options.smoothing = 0.5;
  options.max_missed = 1;
  FaceTracker tracker(options);
  const std::vector<float> happy{0, 1}, sad{1, 0};

  // Frame 1: two faces, far apart: two new tracks.
  auto ids = tracker.update({FaceBox{0, 0, 100, 100}, FaceBox{300, 0, 100, 100}}, {happy, sad});
  REQUIRE(tracker.tracks().size() == 2);
  const int left = tracker.tracks()[ids[0]].id, right = tracker.tracks()[ids[1]].id;
  CHECK(left != right);

  // Frame 2: both moved a little, given in the other order; each keeps its track, the left one's probabilities
  // are averaged with its past.
  ids = tracker.update({FaceBox{310, 5, 100, 100}, FaceBox{10, 5, 100, 100}}, {sad, sad});
  CHECK(tracker.tracks()[ids[0]].id == right);
  CHECK(tracker.tracks()[ids[1]].id == left);
  CHECK(tracker.tracks()[ids[1]].probabilities == std::vector<float>{0.5f, 0.5f});
  CHECK(tracker.tracks()[ids[1]].frames == 2);

  // Frames 3 and 4: only the left face; the right track survives one missed frame, not two.
  tracker.update({FaceBox{12, 5, 100, 100}}, {sad});
  CHECK(tracker.tracks().size() == 2);
  ids = tracker.update({FaceBox{14, 5, 100, 100}}, {sad});
  REQUIRE(tracker.tracks().size() == 1);
  CHECK(tracker.tracks()[ids[0]].id == left);

  // A face where none was: a new track with a new id.
  ids = tracker.update({FaceBox{14, 5, 100, 100}, FaceBox{500, 300, 80, 80}}, {sad, happy});
  CHECK(tracker.tracks()[ids[1]].id != left);
  CHECK(tracker.tracks()[ids[1]].id != right);
  CHECK(tracker.tracks()[ids[1]].probabilities == happy);

  CHECK_THROWS_WITH(tracker.update({FaceBox{0, 0, 1, 1}}, {}), Catch::Contains("one probability vector per box"));
  TrackerOptions bad;
  bad.smoothing = 1;
  CHECK_THROWS_WITH(FaceTracker(bad), Catch::Contains("smoothing must be in [0, 1)"));
}
