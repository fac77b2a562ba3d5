// predict: the emotions of the faces in photos, with a trained checkpoint (the bundled model when none is given):
// per face its box, the emotion and the probabilities of all classes, as a table or as JSON. Takes image files
// and folders (every image inside, recursively). A photo larger than twice the model's input is searched for
// faces (OpenCV's cascade detector, faces/cascade_detector.hpp), each cropped as FER2013 frames its faces
// (faces/face_crop.hpp); smaller images are taken to be a face already, as is every image with --whole-image.
//
//   predict photo.jpg more_photos/
//   predict --annotate annotated.jpg photo.jpg
//   predict --explain explained.jpg photo.jpg      (Grad-CAM: where the network looked, per face)
//   predict --checkpoint runs/fer48/best.ckpt --json face.jpg
//   predict --checkpoint runs/fer48/best.ckpt --json face.jpg
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "mien/faces/face_crop.hpp"
#if MIEN_WITH_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "mien/faces/cascade_detector.hpp"
#endif

namespace fs = std::filesystem;

static std::vector<fs::path> collect_images(const std::vector<std::string>& inputs) {
  std::vector<fs::path> files;
  for (const std::string& in : inputs) {
    if (!fs::exists(in)) throw mien::IoError("'" + in + "' does not exist");
    if (!fs::is_directory(in)) {
      files.emplace_back(in);
      continue;
    }
    std::vector<fs::path> found;
    for (const auto& entry : fs::recursive_directory_iterator(in)) {
      std::string ext = entry.path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
      if (entry.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" ||
                                      ext == ".gif" || ext == ".tga" || ext == ".pgm" || ext == ".ppm"))
        found.push_back(entry.path());
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

#if MIEN_WITH_OPENCV
// A face's box with its label above it.
static void draw_box_label(cv::Mat& image, const mien::FaceBox& b, const std::string& label) {
  const int thickness = std::max(1, image.cols / 300);
  const cv::Scalar colour(40, 220, 40);
  cv::rectangle(image, cv::Rect(b.x, b.y, b.width, b.height), colour, thickness);
  double scale = std::max(0.4, b.width / 160.0);
  int baseline = 0;
  cv::Size text = cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &baseline);
  if (text.width + 4 > image.cols) {  // a label wider than the picture (a face that fills it) is set smaller
    scale *= static_cast<double>(image.cols - 4) / text.width;
    text = cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &baseline);
  }
  const int top = std::max(0, b.y - text.height - baseline - 2);
  const int left = std::clamp(b.x, 0, std::max(0, image.cols - text.width - 4));
  cv::rectangle(image, cv::Rect(left, top, text.width + 4, text.height + baseline + 2), colour, cv::FILLED);
  cv::putText(image, label, cv::Point(left + 2, top + text.height), cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(0, 0, 0),
              thickness);
}

static cv::Mat read_colour(const fs::path& photo, const char* flag) {
  cv::Mat image = cv::imread(photo.string(), cv::IMREAD_COLOR);
  if (image.empty()) throw mien::IoError(std::string(flag) + ": OpenCV cannot read '" + photo.string() + "'");
  return image;
}

static void write_image(const cv::Mat& image, const fs::path& out, const char* flag) {
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  if (!cv::imwrite(out.string(), image)) throw mien::IoError(std::string(flag) + ": cannot write '" + out.string() + "'");
}
#endif

// Draws each face's box and label over the photo (in colour where it has colour) and writes it to `out`.
static void write_annotated(const fs::path& photo, const fs::path& out, const std::vector<mien::FaceBox>& boxes,
                            const std::vector<std::string>& labels) {
#if MIEN_WITH_OPENCV
  cv::Mat image = read_colour(photo, "--annotate");
  for (std::size_t i = 0; i < boxes.size(); ++i) draw_box_label(image, boxes[i], labels[i]);
  write_image(image, out, "--annotate");
#else
  (void)photo, (void)out, (void)boxes, (void)labels;
  throw mien::InvalidArgument("--annotate needs OpenCV, which this build has not (install libopencv-dev, reconfigure)");
#endif
}

// The photo with each face's Grad-CAM map (red: where the network looked most for the emotion it found) blended
// over the region the face was cropped from, and its box and label. Photos smaller than 240 pixels are enlarged.
static void write_explained(const fs::path& photo, const fs::path& out, std::vector<mien::FaceBox> regions,
                            std::vector<mien::FaceBox> boxes, const std::vector<mien::GradCam>& cams,
                            const std::vector<std::string>& labels) {
#if MIEN_WITH_OPENCV
  cv::Mat image = read_colour(photo, "--explain");
  const int zoom = std::max(1, (240 + image.cols - 1) / image.cols);
  if (zoom > 1) {
    cv::resize(image, image, cv::Size(image.cols * zoom, image.rows * zoom), 0, 0, cv::INTER_NEAREST);
    for (auto* list : {&regions, &boxes})
      for (mien::FaceBox& b : *list) b = {b.x * zoom, b.y * zoom, b.width * zoom, b.height * zoom, b.score};
  }
  for (std::size_t i = 0; i < regions.size(); ++i) {
    const mien::GradCam& g = cams[i];
    const mien::FaceBox& r = regions[i];
    cv::Mat map(g.height, g.width, CV_32F, const_cast<float*>(g.map.data())), big, heat8, heat;
    cv::resize(map, big, cv::Size(r.width, r.height), 0, 0, cv::INTER_LINEAR);
    big.convertTo(heat8, CV_8U, 255.0);
    cv::applyColorMap(heat8, heat, cv::COLORMAP_JET);
    const cv::Rect inside = cv::Rect(r.x, r.y, r.width, r.height) & cv::Rect(0, 0, image.cols, image.rows);
    if (inside.area() == 0) continue;
    cv::Mat target = image(inside);
    const cv::Mat source = heat(cv::Rect(inside.x - r.x, inside.y - r.y, inside.width, inside.height));
    cv::addWeighted(target, 0.55, source, 0.45, 0.0, target);
  }
  for (std::size_t i = 0; i < boxes.size(); ++i) draw_box_label(image, boxes[i], labels[i]);
  write_image(image, out, "--explain");
#else
  (void)photo, (void)out, (void)regions, (void)boxes, (void)cams, (void)labels;
  throw mien::InvalidArgument("--explain needs OpenCV, which this build has not (install libopencv-dev, reconfigure)");
#endif
}

int main(int argc, char** argv) {
  std::vector<std::string> checkpoints;
  std::string device = "cpu", annotate, explain, cascade;
  std::vector<std::string> inputs;
  bool json = false, tta = false, whole_image = false;
  int tta_shift = 0;
  mien::FaceCropOptions crop;
  CLI::App app{"Recognise the emotions of the faces in photos with a trained mien checkpoint."};
  examples::add_checkpoint_option(app, checkpoints);
  app.add_option("inputs", inputs, "image files or folders")->required();
  app.add_option("--device", device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  app.add_flag("--json", json, "print JSON instead of a table");
  app.add_flag("--whole-image", whole_image, "classify each whole image as one face (no face detection)");
  app.add_option("--annotate", annotate, "write the photo with boxes and emotions here (with several photos: a folder)");
  app.add_option("--explain", explain, "write the photo with each face's Grad-CAM map (where the network looked) "
                 "blended in, and its emotion (with several photos: a folder)");
  app.add_option("--cascade", cascade, "face detector model (OpenCV cascade XML; default: opencv-data's frontal face)")
      ->check(CLI::ExistingFile);
  app.add_option("--margin", crop.margin, "widen each detected box by this fraction of its side on every side")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_flag("--tta", tta, "average the image's and its mirror image's probabilities (test-time augmentation)");
  app.add_option("--tta-shift", tta_shift, "also average over the image moved by this many pixels left, right, up "
                 "and down (0: off)")->check(CLI::NonNegativeNumber);
  if (const auto done = examples::parse_command_line(app, argc, argv)) return *done;
  return examples::run_guarded([&] {
    mien::Context ctx(0, examples::usable_device(device));
    auto [model, info, checkpoint] = examples::load_models(ctx, checkpoints);
    const int size = info.input_size();
    const std::vector<fs::path> files = collect_images(inputs);
    const mien::TestTimeAugmentation views{tta, tta_shift};
    if (files.empty()) throw mien::InvalidArgument("no images found in the given inputs");
    const bool annotate_folder = !annotate.empty() && (files.size() > 1 || fs::is_directory(annotate));
    const bool explain_folder = !explain.empty() && (files.size() > 1 || fs::is_directory(explain));
    std::unique_ptr<mien::FaceDetector> detector;  // made on the first photo that needs it
    auto detect = [&](const mien::GrayImage& photo) {
#if MIEN_WITH_OPENCV
      if (!detector) {
        mien::CascadeOptions options;
        options.model = cascade;
        detector = std::make_unique<mien::CascadeFaceDetector>(options);
      }
      return detector->detect(photo);
#else
      (void)photo;
      throw mien::InvalidArgument("this build has no face detector (OpenCV was not found when it was configured); "
                                  "install libopencv-dev and opencv-data and reconfigure, or use --whole-image");
      return std::vector<mien::FaceBox>{};
#endif
    };

    nlohmann::json results = nlohmann::json::array();
    if (!json) {
      std::printf("%-40s %4s %-18s %-10s", "image", "face", "box (x,y wxh)", "emotion");
      for (const auto& name : info.class_names) std::printf(" %8s", name.substr(0, 8).c_str());
      std::printf("\n");
    }
    mien::SoftmaxCrossEntropy<float> softmax;  // its probs() are the softmax of the logits
    const mien::Tensor<std::int32_t> dummy_label = mien::Tensor<std::int32_t>::zeros(mien::Shape{1}, ctx.device());
    mien::Tensor<float> x(mien::Shape{0}, ctx.device());
    mien::Tensor<float> host(mien::Shape{1, 1, size, size});
    int failures = 0;
    for (const fs::path& file : files) {
      mien::GrayImage photo;
      try {
        photo = mien::read_image(file);
      } catch (const mien::Error& e) {
        std::fprintf(stderr, "skipped: %s\n", e.what());
        ++failures;
        continue;
      }
      const bool is_face = whole_image || std::max(photo.width, photo.height) <= 2 * size;
      const std::vector<mien::FaceBox> boxes =
          is_face ? std::vector<mien::FaceBox>{{0, 0, photo.width, photo.height, 1.0}} : detect(photo);
      if (boxes.empty()) {
        std::fprintf(stderr, "no face found in %s (--whole-image classifies the whole picture)\n", file.c_str());
        ++failures;
        continue;
      }
      nlohmann::json faces = nlohmann::json::array();
      std::vector<std::string> labels;
      std::vector<mien::FaceBox> regions;
      std::vector<mien::GradCam> cams;
      for (std::size_t f = 0; f < boxes.size(); ++f) {
        const mien::FaceBox& b = boxes[f];
        const mien::GrayImage face = is_face ? mien::resize_gray(photo, size, size) : mien::crop_face(photo, b, size, crop);
        mien::fill_model_input(face, info, host);
        const std::vector<float> p = mien::probabilities_over_views(ctx, *model, host, x, dummy_label, softmax, views);
        const std::size_t best = static_cast<std::size_t>(std::max_element(p.begin(), p.end()) - p.begin());
        char percent[16];
        std::snprintf(percent, sizeof percent, " %.0f%%", 100.0 * p[best]);
        labels.push_back(info.class_names[best] + percent);
        if (!explain.empty()) {
          x.copy_from(host);
          cams.push_back(mien::grad_cam(ctx, *model, x, {static_cast<int>(best)})[0]);
          regions.push_back(is_face ? b : mien::face_crop_region(b, crop));
        }
        if (json) {
          nlohmann::json probs;
          for (std::size_t c = 0; c < p.size(); ++c) probs[info.class_names[c]] = p[c];
          faces.push_back({{"box", {{"x", b.x}, {"y", b.y}, {"width", b.width}, {"height", b.height}}},
                           {"emotion", info.class_names[best]},
                           {"probabilities", probs}});
        } else {
          char box[40];
          std::snprintf(box, sizeof box, "%d,%d %dx%d", b.x, b.y, b.width, b.height);
          std::printf("%-40s %4zu %-18s %-10s", file.string().c_str(), f + 1, box, info.class_names[best].c_str());
          for (float v : p) std::printf(" %8.4f", v);
          std::printf("\n");
        }
      }
      if (json) results.push_back({{"image", file.string()}, {"faces", faces}});
      if (!annotate.empty())
        write_annotated(file, annotate_folder ? fs::path(annotate) / (file.stem().string() + ".jpg") : fs::path(annotate),
                        boxes, labels);
      if (!explain.empty())
        write_explained(file, explain_folder ? fs::path(explain) / (file.stem().string() + ".jpg") : fs::path(explain),
                        regions, boxes, cams, labels);
    }
    if (json) std::printf("%s\n", results.dump(2).c_str());
    return failures ? static_cast<int>(examples::run_error) : static_cast<int>(examples::ok);
  });
}
