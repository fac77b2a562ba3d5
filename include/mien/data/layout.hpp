#pragma once
// Where the images of a downloaded data set are: the forms the paper's data sets and FER2013 unpack into.
//
//   <root>/{train,test}/<class>/*                  FER2013 (Kaggle image folders); "ferdata" (the paper's FERD2)
//   <root>/images/{train,validation}/<class>/*     "face-expression-recognition-dataset" (the paper's FERD1), also
//                                                  nested once more (images/images/...) in some downloads
//   <root>/{train,val,test}/<class>/*              re-packagings with three parts (validation, valid, val)
//   <root>/<class>/*                               a plain labelled folder (a cross-data-set test set such as CK+)
//   fer2013.csv                                    the original file (Usage: Training, PublicTest, PrivateTest)
//
// Folders that hold nothing but one sub-folder (the archive's own name, "images") are descended into. Part
// names are matched without regard to case.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <system_error>
#include <vector>

#include "mien/core/error.hpp"
#include "mien/data/classes.hpp"
#include "mien/data/dataset.hpp"
#include "mien/data/split.hpp"

namespace mien {

struct DatasetLayout {
  std::filesystem::path path;        // as given
  std::filesystem::path root;        // the folder holding the part folders, or the class folders when flat
  bool csv = false;                  // path is fer2013.csv
  bool flat = false;                 // root holds class folders directly, no parts
  std::string train, validation, test;  // the part folders' names under root; empty where absent

  // "train/ and validation/ under <root>", "the labelled folder <root>", "fer2013.csv"
  std::string describe() const {
    if (csv) return "the CSV file " + path.string();
    if (flat) return "the labelled folder " + root.string() + " (<class>/<images>, no parts)";
    std::string parts;
    for (const std::string* p : {&train, &validation, &test})
      if (!p->empty()) parts += (parts.empty() ? "" : ", ") + *p + "/";
    return parts + " under " + root.string();
  }
};

namespace detail {

inline std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The name of the sub-folder of `dir` that is one of `spellings` (any case), or "".
inline std::string part_folder(const std::vector<std::filesystem::path>& subfolders,
                               std::initializer_list<const char*> spellings) {
  for (const auto& folder : subfolders) {
    const std::string name = folder.filename().string(), key = lower(name);
    for (const char* s : spellings)
      if (key == s) return name;
  }
  return "";
}

}  // namespace detail

// Finds the layout of the data set at `path` (a folder or fer2013.csv); throws IoError saying what was found
// when it is none of the forms above.
inline DatasetLayout find_dataset_layout(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  DatasetLayout layout;
  layout.path = path;
  if (!fs::exists(path, ec)) throw IoError("data path '" + path.string() + "' does not exist");
  if (fs::is_regular_file(path, ec)) {
    layout.csv = true;
    layout.root = path;
    return layout;
  }
  fs::path dir = path;
  for (int depth = 0; depth < 4; ++depth) {
    const std::vector<fs::path> subs = detail::visible_entries(dir, "find_dataset_layout", detail::is_folder_entry);
    layout.train = detail::part_folder(subs, {"train", "training"});
    layout.validation = detail::part_folder(subs, {"validation", "val", "valid"});
    layout.test = detail::part_folder(subs, {"test", "testing"});
    if (!layout.train.empty() || !layout.validation.empty() || !layout.test.empty()) {
      layout.root = dir;
      return layout;
    }
    const bool has_class_folder = std::any_of(subs.begin(), subs.end(), [](const fs::path& p) {
      return find_emotion_class(p.filename().string()) >= 0;
    });
    if (has_class_folder) {
      layout.root = dir;
      layout.flat = true;
      return layout;
    }
    if (subs.size() != 1) break;
    dir = subs.front();  // a wrapper folder: the archive's name, or "images"
  }
  throw IoError("'" + path.string() + "' holds no data set mien knows: expected <root>/train/<class>/* (with test/ "
                "or validation/ beside it), <root>/<class>/*, or fer2013.csv");
}

// Which part of a layout stands for the test set: test/, else validation/ (FERD1 ships train/ and validation/
// only, so its validation images are the held-out ones).
inline std::string test_part(const DatasetLayout& layout) {
  return layout.test.empty() ? layout.validation : layout.test;
}

// Loads the parts named (folder names of the layout; for the CSV every row). A flat layout is one part named after
// its folder.
inline Dataset load_dataset_parts(const DatasetLayout& layout, const std::vector<std::string>& parts,
                                  const LoadOptions& options) {
  Dataset all;
  if (layout.csv) {
    Fer2013Csv csv = load_fer2013_csv(layout.root, options);
    for (Dataset* part : {&csv.training, &csv.public_test, &csv.private_test}) append(all, *part);
    all.report.skipped_images.insert(all.report.skipped_images.end(), csv.report.skipped_images.begin(),
                                     csv.report.skipped_images.end());
    return all;
  }
  if (layout.flat) return load_image_folder(layout.root.parent_path(), layout.root.filename().string(), options);
  for (const std::string& part : parts) {
    check_arg(!part.empty(), "load_dataset_parts", "a part name is empty (", layout.describe(), ")");
    append(all, load_image_folder(layout.root, part, options));
  }
  return all;
}

// Every part of a layout.
inline Dataset load_dataset_parts(const DatasetLayout& layout, const LoadOptions& options) {
  std::vector<std::string> parts;
  for (const std::string* p : {&layout.train, &layout.validation, &layout.test})
    if (!p->empty()) parts.push_back(*p);
  return load_dataset_parts(layout, parts, options);
}

// The official split's parts: the CSV's Training / PublicTest (validation) / PrivateTest; folders train/, test/
// (or validation/ when there is no test/), and validation/ as the validation part when both it and test/ exist,
// else validation carved from train.
inline OfficialSplitOptions official_parts(const DatasetLayout& layout) {
  OfficialSplitOptions parts;
  if (layout.csv) {
    parts.train_origin = "Training";
    parts.val_origin = "PublicTest";
    parts.test_origin = "PrivateTest";
    return parts;
  }
  if (layout.flat || layout.train.empty() || test_part(layout).empty())
    throw IoError("the official split needs a train/ part and a test/ or validation/ part; found " +
                  layout.describe() + " (use --split paper to split it 70/15/15)");
  parts.train_origin = layout.train;
  parts.test_origin = test_part(layout);
  if (!layout.test.empty() && !layout.validation.empty()) parts.val_origin = layout.validation;
  return parts;
}

}  // namespace mien
