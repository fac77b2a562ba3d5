// Face boxes and crops (faces/face_detector.hpp, faces/face_crop.hpp): overlap, the crop's region and pixels.
#include <catch2/catch.hpp>

#include <cstdint>

#include "mien/faces/face_crop.hpp"

using namespace mien;

TEST_CASE("Box overlap is intersection over union", "[faces]") {
  const FaceBox a{0, 0, 10, 10};
  CHECK(box_iou(a, a) == 1.0);
  CHECK(box_iou(a, FaceBox{10, 0, 10, 10}) == 0.0);            // touching edges share no pixel
  CHECK(box_iou(a, FaceBox{5, 0, 10, 10}) == Approx(50.0 / 150.0));
  CHECK(box_iou(a, FaceBox{2, 2, 5, 5}) == Approx(25.0 / 100.0));  // inside
  CHECK(box_iou(FaceBox{0, 0, 0, 0}, FaceBox{0, 0, 0, 0}) == 0.0);
}

TEST_CASE("A face crop is the box's square, widened by the margin, resized", "[faces]") {
  FaceCropOptions wide;
  wide.margin = 0.25;
  const FaceBox region = face_crop_region(FaceBox{100, 50, 40, 20}, wide);
  CHECK(region.width == 60);  // the longer side 40, plus a quarter of it on each side
  CHECK(region.height == 60);
  CHECK(region.x == 90);      // centred on the box's centre (120, 60)
  CHECK(region.y == 30);

  // A photo whose pixel value is its column: the crop of a box inside it holds exactly that box's columns.
  GrayImage photo;
  photo.width = 200;
  photo.height = 100;
  photo.pixels.resize(200 * 100);
  for (int y = 0; y < 100; ++y)
    for (int x = 0; x < 200; ++x) photo.pixels[static_cast<std::size_t>(y) * 200 + x] = static_cast<std::uint8_t>(x);
  FaceCropOptions none;
  none.margin = 0;
  const GrayImage same = crop_face(photo, FaceBox{20, 10, 48, 48}, 48, none);
  REQUIRE(same.width == 48);
  REQUIRE(same.height == 48);
  for (int x = 0; x < 48; ++x) CHECK(same.at(x, 7) == 20 + x);
  // Outside the photo the border repeats: a box at the left edge gets column 0 to its left.
  const GrayImage edge = crop_face(photo, FaceBox{0, 0, 10, 10}, 20, wide);  // region x from -3
  CHECK(edge.at(0, 10) == 0);
  CHECK(edge.at(19, 10) > 8);

  CHECK_THROWS_WITH(crop_face(photo, FaceBox{0, 0, 0, 5}, 48), Catch::Contains("positive size"));
  CHECK_THROWS_WITH(crop_face(GrayImage{}, FaceBox{0, 0, 5, 5}, 48), Catch::Contains("empty"));
}
