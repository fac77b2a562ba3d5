// Face detection on real faces: FER2013 test faces placed at known boxes in larger scenes must be found (box
// overlap >= 0.5), and the crop of a found face must be classified as the original face is. Needs OpenCV; the
// FER2013 parts skip where the archive is absent, the classification part where no bundled model is.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mien/data/image.hpp"
#include "mien/faces/cascade_detector.hpp"
#include "mien/faces/face_crop.hpp"
#include "mien/layers/softmax_cross_entropy.hpp"
#include "mien/testing/face_scenes.hpp"
#include "mien/train/checkpointing.hpp"
#include "../support/fer2013.hpp"
#include "../support/temp_dir.hpp"

using namespace mien;
namespace fs = std::filesystem;

TEST_CASE("The cascade detector refuses a model file that is not a cascade", "[faces]") {
  testing::TempDir dir("mien-faces");
  const fs::path bad = dir.path() / "bad.xml";
  { std::ofstream(bad) << "<opencv_storage><nothing/></opencv_storage>\n"; }
  CascadeOptions options;
  options.model = bad.string();
  CHECK_THROWS_WITH(CascadeFaceDetector(options), Catch::Contains("cannot load the face-detection model"));
  options.model = (dir.path() / "missing.xml").string();
  CHECK_THROWS_AS(CascadeFaceDetector(options), IoError);
}

TEST_CASE("FER2013 faces placed in scenes are found, and their crops classified as the faces are", "[faces]") {
  std::string why;
  const auto root = testing::fer2013_root(&why);
  if (!root) {
    WARN("skipped: " << why);
    return;
  }
  CascadeFaceDetector detector;
  const std::vector<fs::path> faces = testing::first_faces_per_class(*root / "test", 12);  // 84 faces, 12 of each class
  REQUIRE(faces.size() == 84);

  // Two faces per scene, at seeded places and sizes (3x to 4x FER2013's 48 pixels), left and right half.
  struct Placed {
    GrayImage original;  // 48x48
    FaceBox box;
    std::size_t scene;
  };
  std::vector<GrayImage> scenes;
  std::vector<Placed> placed;
  const RandomStream where{11, 0x9A5Eu, 0};
  for (std::size_t i = 0; i < faces.size(); ++i) {
    if (i % 2 == 0) scenes.push_back(testing::noise_scene(i));
    const int side = 144 + static_cast<int>(48 * where.uniform(4 * i));
    const int x = (i % 2 ? 330 : 10) + static_cast<int>((300 - side) * where.uniform(4 * i + 1));
    const int y = 10 + static_cast<int>((460 - side) * where.uniform(4 * i + 2));
    const GrayImage original = read_image(faces[i]);
    testing::paste_face(scenes.back(), resize_gray(original, side, side), x, y);
    placed.push_back({original, FaceBox{x, y, side, side}, scenes.size() - 1});
  }

  std::vector<std::vector<FaceBox>> found(scenes.size());
  for (std::size_t s = 0; s < scenes.size(); ++s) found[s] = detector.detect(scenes[s]);
  std::vector<FaceBox> match(placed.size());
  std::vector<bool> hit(placed.size(), false);
  std::size_t hits = 0, boxes = 0, stray = 0;
  for (std::size_t i = 0; i < placed.size(); ++i)
    for (const FaceBox& b : found[placed[i].scene])
      if (box_iou(b, placed[i].box) >= 0.5 && !hit[i]) {
        hit[i] = true;
        match[i] = b;
        ++hits;
      }
  for (std::size_t s = 0; s < scenes.size(); ++s)
    for (const FaceBox& b : found[s]) {
      ++boxes;
      bool on_a_face = false;
      for (const Placed& p : placed)
        if (p.scene == s && box_iou(b, p.box) > 0.1) on_a_face = true;
      stray += !on_a_face;
    }
  const double recall = static_cast<double>(hits) / static_cast<double>(placed.size());
  INFO(hits << " of " << placed.size() << " faces found with overlap >= 0.5; " << boxes << " boxes, " << stray
            << " of them on no face");
  // Measured when this test was written: 57 of 84 found, one stray box. FER2013's faces are tight 48-pixel crops,
  // many turned or occluded, which the frontal cascade misses; photos give it more context.
  CHECK(recall >= 0.5);
  CHECK(stray <= 3);

  // Searching a copy shrunk to 320 pixels (the video program's default) finds these faces too, boxes in the
  // scene's own coordinates.
  CascadeOptions fast;
  fast.max_side = 320;
  CascadeFaceDetector shrunk(fast);
  std::size_t shrunk_hits = 0;
  for (std::size_t s = 0; s < scenes.size(); ++s) {
    const std::vector<FaceBox> boxes_small = shrunk.detect(scenes[s]);
    for (const Placed& p : placed)
      if (p.scene == s)
        shrunk_hits += std::any_of(boxes_small.begin(), boxes_small.end(),
                                   [&](const FaceBox& b) { return box_iou(b, p.box) >= 0.5; });
  }
  INFO(shrunk_hits << " of " << placed.size() << " found in copies shrunk to 320 pixels");
  CHECK(static_cast<double>(shrunk_hits) >= 0.4 * static_cast<double>(placed.size()));

  const fs::path model_path = fs::path(MIEN_SOURCE_DIR) / "models" / "fer2013-48.ckpt";
  if (!fs::exists(model_path)) {
    WARN("classification part skipped: no bundled model at " << model_path.string());
    return;
  }
  Context ctx(1);
  auto [model, info] = load_model(ctx, model_path.string());
  const int size = info.input_size();
  SoftmaxCrossEntropy<float> softmax;
  const Tensor<std::int32_t> label = Tensor<std::int32_t>::zeros(Shape{1});
  auto classify = [&](const GrayImage& face) {
    Tensor<float> x(Shape{1, 1, size, size});
    fill_model_input(resize_gray(face, size, size), info, x);
    softmax.forward(ctx, model->forward(ctx, x, Mode::infer), label);
    const std::vector<float> p = softmax.probs().to_vector();
    return std::max_element(p.begin(), p.end()) - p.begin();
  };
  std::size_t agree = 0;
  for (std::size_t i = 0; i < placed.size(); ++i)
    if (hit[i]) agree += classify(crop_face(scenes[placed[i].scene], match[i], size)) == classify(placed[i].original);
  INFO(agree << " of " << hits << " crops classified as their original faces");
  // 47 of 57 with the bundled model of 2026-12-04 (43 with the first): the crop is the face scaled up into the
  // scene and back.
  CHECK(static_cast<double>(agree) >= 0.7 * static_cast<double>(hits));
}

TEST_CASE("A real photograph yields a face", "[faces]") {
  const fs::path photo = "/usr/share/doc/opencv-doc/examples/data/messi5.jpg";
  if (!fs::exists(photo)) {
    WARN("skipped: " << photo.string() << " is absent (Debian's opencv-doc)");
    return;
  }
  CascadeFaceDetector detector;
  const std::vector<FaceBox> faces = detector.detect(read_image(photo));
  CHECK(faces.size() >= 1);
}
