#pragma once
// Dataset: labelled grayscale images at the model's input size, in one contiguous block, with where each came
// from and a hash of its original pixels (for the duplicate audit). Loaders for the two forms FER2013 comes in:
// image folders <root>/<split>/<class>/<files> (Kaggle's layout, also used by the paper's other data sets with
// other class spellings) and the original fer2013.csv. Both decode in parallel with OpenMP.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "mien/core/error.hpp"
#include "mien/data/classes.hpp"
#include "mien/data/image.hpp"

namespace mien {

// What a loader does with an input it cannot use (an unreadable image, a malformed CSV row, a folder that
// names no class): stop with an error naming it, or leave it out and list it in the LoadReport.
enum class OnBadInput { fail, skip };

struct LoadOptions {
  int image_size = 48;                             // images are stored image_size x image_size
  OnBadInput on_bad_image = OnBadInput::fail;      // unreadable image files, malformed CSV rows
  OnBadInput on_unknown_class = OnBadInput::fail;  // class folders whose names name no emotion
  int num_threads = 0;                             // decoding threads; 0: OpenMP's default
};

// What a load left out, one line per item: "<file>: <reason>" or "<file>:<line>: <reason>".
struct LoadReport {
  std::size_t loaded = 0;
  std::vector<std::string> skipped_images;
  std::vector<std::string> skipped_folders;

  std::string summary() const {
    std::string s = std::to_string(loaded) + " images loaded, " + std::to_string(skipped_images.size()) +
                    " bad images skipped, " + std::to_string(skipped_folders.size()) + " unknown class folders skipped";
    for (const std::string& line : skipped_images) s += "\n  skipped: " + line;
    for (const std::string& line : skipped_folders) s += "\n  skipped folder: " + line;
    return s;
  }
};

struct Dataset {
  int height = 0;
  int width = 0;
  std::vector<std::string> class_names = emotion_class_names();
  std::vector<std::uint8_t> pixels;           // [N, height, width], row-major
  std::vector<std::int32_t> labels;           // [N], indices into class_names
  std::vector<std::string> sources;           // [N], the file, or "<file.csv>:<line>"
  std::vector<std::uint64_t> content_hashes;  // [N], pixel_hash of the image as decoded, before resizing
  std::vector<std::string> origin_names;      // the data set's own parts: "train", "test", "PublicTest", ...
  std::vector<std::uint8_t> origins;          // [N], indices into origin_names
  LoadReport report;

  std::size_t size() const { return labels.size(); }
  std::size_t image_pixels() const { return static_cast<std::size_t>(height) * width; }
  const std::uint8_t* image(std::size_t i) const { return pixels.data() + i * image_pixels(); }

  std::vector<std::size_t> class_counts() const {
    std::vector<std::size_t> counts(class_names.size(), 0);
    for (std::int32_t label : labels) ++counts[static_cast<std::size_t>(label)];
    return counts;
  }
  // Indices of the samples from one part of the data set's own layout (empty if it has no such part).
  std::vector<std::size_t> indices_of_origin(const std::string& name) const {
    std::vector<std::size_t> out;
    const auto it = std::find(origin_names.begin(), origin_names.end(), name);
    if (it == origin_names.end()) return out;
    const auto origin = static_cast<std::uint8_t>(it - origin_names.begin());
    for (std::size_t i = 0; i < origins.size(); ++i)
      if (origins[i] == origin) out.push_back(i);
    return out;
  }
};

// A 64-bit hash of an image's pixels and size, to find pixel-identical images. Bytes are read as little-endian
// words, so a given image hashes the same on every platform.
inline std::uint64_t pixel_hash(const std::uint8_t* pixels, int width, int height) {
  auto mix = [](std::uint64_t x) {  // the SplitMix64 finalizer: every input bit flips about half the output bits
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    return x ^ (x >> 31);
  };
  const std::size_t count = static_cast<std::size_t>(width) * height;
  std::uint64_t h =
      mix((static_cast<std::uint64_t>(static_cast<std::uint32_t>(width)) << 32) ^ static_cast<std::uint32_t>(height));
  for (std::size_t i = 0; i < count; i += 8) {
    std::uint64_t word = 0;
    const std::size_t n = std::min<std::size_t>(8, count - i);
    for (std::size_t b = 0; b < n; ++b) word |= static_cast<std::uint64_t>(pixels[i + b]) << (8 * b);
    h = mix(h ^ word) + 0x9E3779B97F4A7C15ull;
  }
  return mix(h ^ count);
}

// Puts the samples of `more` after those of `into`; both must share image size and class names. Origins are
// merged by name, so concatenating the "train" and "test" folders keeps each sample's part.
inline void append(Dataset& into, const Dataset& more) {
  if (into.size() == 0 && into.origin_names.empty()) {
    into = more;
    return;
  }
  check_arg(into.height == more.height && into.width == more.width, "append", "image sizes differ: ", into.height, "x",
            into.width, " and ", more.height, "x", more.width);
  check_arg(into.class_names == more.class_names, "append", "the data sets have different classes");
  std::vector<std::uint8_t> origin_map(more.origin_names.size());
  for (std::size_t o = 0; o < more.origin_names.size(); ++o) {
    auto it = std::find(into.origin_names.begin(), into.origin_names.end(), more.origin_names[o]);
    if (it == into.origin_names.end()) it = into.origin_names.insert(it, more.origin_names[o]);
    check_arg(into.origin_names.size() <= 256, "append", "more than 256 origins");
    origin_map[o] = static_cast<std::uint8_t>(it - into.origin_names.begin());
  }
  into.pixels.insert(into.pixels.end(), more.pixels.begin(), more.pixels.end());
  into.labels.insert(into.labels.end(), more.labels.begin(), more.labels.end());
  into.sources.insert(into.sources.end(), more.sources.begin(), more.sources.end());
  into.content_hashes.insert(into.content_hashes.end(), more.content_hashes.begin(), more.content_hashes.end());
  for (std::uint8_t o : more.origins) into.origins.push_back(origin_map[o]);
  into.report.loaded += more.report.loaded;
  into.report.skipped_images.insert(into.report.skipped_images.end(), more.report.skipped_images.begin(),
                                    more.report.skipped_images.end());
  into.report.skipped_folders.insert(into.report.skipped_folders.end(), more.report.skipped_folders.begin(),
                                     more.report.skipped_folders.end());
}

namespace detail {

inline int loader_threads(int requested) {
#ifdef _OPENMP
  return requested > 0 ? requested : omp_get_max_threads();
#else
  (void)requested;
  return 1;
#endif
}

// An exception's message without the "mien: " that every mien error starts with (it is added again when the
// message is rethrown).
inline std::string error_text(const std::exception& e) {
  std::string_view what = e.what();
  if (what.substr(0, 6) == "mien: ") what.remove_prefix(6);
  return std::string(what);
}

inline bool is_hidden(const std::filesystem::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name[0] == '.';
}

// A folder's non-hidden entries that pass `keep`, sorted by name; IoError (prefixed with `op`) if it cannot be listed.
template <class Keep>
std::vector<std::filesystem::path> visible_entries(const std::filesystem::path& folder, const char* op, Keep keep) {
  std::vector<std::filesystem::path> out;
  std::error_code err;
  for (std::filesystem::directory_iterator it(folder, err), end; !err && it != end; it.increment(err))
    if (!is_hidden(it->path()) && keep(*it)) out.push_back(it->path());
  if (err) throw IoError(std::string(op) + ": cannot list '" + folder.string() + "': " + err.message());
  std::sort(out.begin(), out.end());
  return out;
}

inline bool is_folder_entry(const std::filesystem::directory_entry& e) {
  std::error_code err;
  return e.is_directory(err);
}

// Keeps the decoded slots whose error is empty, in order, and sizes the per-sample arrays to match.
inline void compact_slots(Dataset& ds, const std::vector<std::string>& errors) {
  const std::size_t per_image = ds.image_pixels();
  std::size_t kept = 0;
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (!errors[i].empty()) continue;
    if (kept != i) {
      std::memmove(ds.pixels.data() + kept * per_image, ds.pixels.data() + i * per_image, per_image);
      ds.labels[kept] = ds.labels[i];
      ds.sources[kept] = std::move(ds.sources[i]);
      ds.content_hashes[kept] = ds.content_hashes[i];
      ds.origins[kept] = ds.origins[i];
    }
    ++kept;
  }
  ds.pixels.resize(kept * per_image);
  ds.labels.resize(kept);
  ds.sources.resize(kept);
  ds.content_hashes.resize(kept);
  ds.origins.resize(kept);
  ds.report.loaded = kept;
}

// Under OnBadInput::fail, throws IoError for the first failed slot (saying how many more there are);
// otherwise records every failure in the report.
inline void handle_bad_inputs(const char* op, const std::vector<std::string>& errors, OnBadInput policy,
                              LoadReport& report) {
  const std::size_t bad = static_cast<std::size_t>(
      std::count_if(errors.begin(), errors.end(), [](const std::string& e) { return !e.empty(); }));
  if (bad == 0) return;
  if (policy == OnBadInput::fail) {
    const auto first = std::find_if(errors.begin(), errors.end(), [](const std::string& e) { return !e.empty(); });
    std::string msg = std::string(op) + ": " + *first;
    if (bad > 1) msg += " (and " + std::to_string(bad - 1) + " more)";
    throw IoError(msg + "; set on_bad_image = OnBadInput::skip to leave bad inputs out");
  }
  for (const std::string& e : errors)
    if (!e.empty()) report.skipped_images.push_back(e);
}

}  // namespace detail

// Loads <root>/<split>/<class>/<image files>. Class folders are mapped with find_emotion_class (any case,
// usual variants, or 0..6); hidden files and folders (names starting with '.') are ignored. Samples are
// ordered by class, then by file name, so a load is reproducible on any file system.
inline Dataset load_image_folder(const std::filesystem::path& root, const std::string& split,
                                 const LoadOptions& options = {}) {
  namespace fs = std::filesystem;
  constexpr const char* op = "load_image_folder";
  check_arg(options.image_size > 0, op, "image_size must be positive, got ", options.image_size);
  const fs::path dir = root / split;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw IoError(std::string(op) + ": '" + dir.string() +
                  "' is not a folder (expected the layout <root>/<split>/<class>/<image files>)");

  auto is_file = [](const fs::directory_entry& e) {
    std::error_code err;
    return e.is_regular_file(err);
  };

  Dataset ds;
  ds.height = ds.width = options.image_size;
  ds.origin_names = {split};
  std::array<fs::path, num_emotion_classes> folder_of_class;
  const std::vector<fs::path> class_folders = detail::visible_entries(dir, op, detail::is_folder_entry);
  for (const fs::path& folder : class_folders) {
    const std::string name = folder.filename().string();
    const int label = find_emotion_class(name);
    if (label < 0) {
      if (options.on_unknown_class == OnBadInput::fail) throw unknown_emotion_class(name, folder.string());
      std::size_t images = 0;
      std::error_code err;
      for (fs::directory_iterator it(folder, err), end; !err && it != end; it.increment(err))
        images += !detail::is_hidden(it->path());
      ds.report.skipped_folders.push_back(folder.string() + ": names no emotion class (" + std::to_string(images) +
                                          " files left out)");
      continue;
    }
    check_arg(folder_of_class[label].empty(), op, "folders '", folder_of_class[label].string(), "' and '",
              folder.string(), "' both hold class '", emotion_names()[label], "'");
    folder_of_class[label] = folder;
  }
  std::vector<fs::path> files;
  std::vector<std::int32_t> file_labels;
  for (int label = 0; label < num_emotion_classes; ++label) {
    if (folder_of_class[label].empty()) continue;
    for (fs::path& file : detail::visible_entries(folder_of_class[label], op, is_file)) {
      files.push_back(std::move(file));
      file_labels.push_back(label);
    }
  }
  if (files.empty())
    throw IoError(std::string(op) + ": no images under '" + dir.string() + "' (" +
                  std::to_string(class_folders.size()) + " folders, none holding image files of a known class)");

  const std::size_t n = files.size(), per_image = ds.image_pixels();
  ds.pixels.resize(n * per_image);
  ds.labels = std::move(file_labels);
  ds.sources.resize(n);
  ds.content_hashes.resize(n);
  ds.origins.assign(n, 0);
  std::vector<std::string> errors(n);
  [[maybe_unused]] const int threads = detail::loader_threads(options.num_threads);
#pragma omp parallel for schedule(dynamic, 64) num_threads(threads)
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(n); ++i) {
    const auto s = static_cast<std::size_t>(i);
    ds.sources[s] = files[s].string();
    try {
      const GrayImage image = read_image(files[s]);
      ds.content_hashes[s] = pixel_hash(image.pixels.data(), image.width, image.height);
      resize_gray(image.pixels.data(), image.width, image.height, ds.pixels.data() + s * per_image, ds.width,
                  ds.height);
    } catch (const std::exception& e) {
      errors[s] = detail::error_text(e);
    }
  }
  detail::handle_bad_inputs(op, errors, options.on_bad_image, ds.report);
  detail::compact_slots(ds, errors);
  return ds;
}

// fer2013.csv, split by its Usage column. `report` lists the malformed rows that were skipped.
struct Fer2013Csv {
  Dataset training;      // Usage "Training"    (28,709 rows in the original file)
  Dataset public_test;   // Usage "PublicTest"  (3,589)
  Dataset private_test;  // Usage "PrivateTest" (3,589)
  LoadReport report;

  // The three in one data set, each sample keeping its Usage as origin (for official_split and paper_split).
  Dataset pooled() const {
    Dataset all = training;
    append(all, public_test);
    append(all, private_test);
    return all;
  }
};

namespace detail {

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '"')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '"')) s.remove_suffix(1);
  return s;
}

inline std::vector<std::string_view> split_commas(std::string_view line) {
  std::vector<std::string_view> fields;
  for (std::size_t start = 0;;) {
    const std::size_t comma = line.find(',', start);
    fields.push_back(
        trim(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

constexpr int fer_side = 48;
constexpr std::size_t fer_pixels = fer_side * fer_side;
inline const std::array<const char*, 3>& fer_usages() {
  static const std::array<const char*, 3> usages = {"Training", "PublicTest", "PrivateTest"};
  return usages;
}

struct FerColumns {
  int emotion = -1, pixels = -1, usage = -1;
};

// Parses one data row; returns why it is malformed, or an empty string.
inline std::string parse_fer_row(std::string_view line, const FerColumns& columns, std::int32_t& label, int& usage,
                                 std::uint8_t* pixels) {
  const std::vector<std::string_view> fields = split_commas(line);
  auto field = [&fields](int column) {
    return column < static_cast<int>(fields.size()) ? fields[column] : std::string_view();
  };

  const std::string_view emotion = field(columns.emotion);
  if (emotion.empty()) return "missing emotion";
  if (emotion.size() != 1 || emotion[0] < '0' || emotion[0] >= '0' + num_emotion_classes)
    return "emotion '" + std::string(emotion) + "' is not a class code 0..6";
  label = emotion[0] - '0';

  if (columns.usage < 0) {
    usage = 0;  // a file without a Usage column (Kaggle's train.csv) is all training data
  } else {
    const std::string_view name = field(columns.usage);
    if (name.empty()) return "missing Usage";
    usage = -1;
    for (int u = 0; u < 3; ++u)
      if (iequals(name, fer_usages()[u])) usage = u;
    if (usage < 0) return "unknown Usage '" + std::string(name) + "' (expected Training, PublicTest or PrivateTest)";
  }

  const std::string_view values = field(columns.pixels);
  std::size_t count = 0, pos = 0;
  while (true) {
    while (pos < values.size() && (values[pos] == ' ' || values[pos] == '\t')) ++pos;
    if (pos == values.size()) break;
    const std::size_t start = pos;
    unsigned value = 0;
    while (pos < values.size() && values[pos] != ' ' && values[pos] != '\t') {
      const char c = values[pos++];
      if (c < '0' || c > '9' || value > 255) {
        while (pos < values.size() && values[pos] != ' ' && values[pos] != '\t') ++pos;
        const std::string token(values.substr(start, pos - start));
        return (c >= '0' && c <= '9' ? "pixel value '" + token + "' outside 0..255"
                                     : "non-numeric pixel value '" + token + "'") +
               " at position " + std::to_string(count + 1);
      }
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > 255)
      return "pixel value '" + std::string(values.substr(start, pos - start)) + "' outside 0..255 at position " +
             std::to_string(count + 1);
    if (count < fer_pixels) pixels[count] = static_cast<std::uint8_t>(value);
    ++count;
  }
  if (count != fer_pixels)
    return std::to_string(count) + " pixel values, expected " + std::to_string(fer_pixels) + " (48x48)";
  return {};
}

}  // namespace detail

// Loads fer2013.csv (header "emotion,pixels,Usage", in any column order and case; one row per 48x48 image,
// pixels space-separated). Malformed rows (a wrong pixel count, a non-numeric or out-of-range pixel, an
// emotion outside 0..6, a missing or unknown Usage) stop the load with an error naming the line, or are
// skipped and listed in `report` under OnBadInput::skip. Images are resized to options.image_size.
inline Fer2013Csv load_fer2013_csv(const std::filesystem::path& path, const LoadOptions& options = {}) {
  constexpr const char* op = "load_fer2013_csv";
  check_arg(options.image_size > 0, op, "image_size must be positive, got ", options.image_size);
  const std::vector<std::uint8_t> bytes = read_file_bytes(path);
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a UTF-8 byte-order mark from spreadsheet tools

  // Lines, with their 1-based numbers; blank lines are passed over.
  std::vector<std::string_view> lines;
  std::vector<std::size_t> line_numbers;
  std::size_t number = 0;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++number;
    if (!detail::trim(line).empty()) {
      lines.push_back(line);
      line_numbers.push_back(number);
    }
    start = end + 1;
  }
  if (lines.empty()) throw IoError(std::string(op) + ": '" + path.string() + "' is empty");

  detail::FerColumns columns;
  const std::vector<std::string_view> header = detail::split_commas(lines[0]);
  for (int c = 0; c < static_cast<int>(header.size()); ++c) {
    if (detail::iequals(header[c], "emotion")) columns.emotion = c;
    if (detail::iequals(header[c], "pixels")) columns.pixels = c;
    if (detail::iequals(header[c], "usage")) columns.usage = c;
  }
  if (columns.emotion < 0 || columns.pixels < 0)
    throw IoError(std::string(op) + ": '" + path.string() + "' line " + std::to_string(line_numbers[0]) +
                  ": expected a header naming the columns emotion, pixels and Usage, got '" +
                  std::string(lines[0].substr(0, 80)) + "'");

  // Parse every row in parallel into a staging block of 48x48 images, then hand them to their usage's set.
  const std::size_t rows = lines.size() - 1;
  std::vector<std::uint8_t> staged(rows * detail::fer_pixels);
  std::vector<std::int32_t> labels(rows);
  std::vector<int> usages(rows);
  std::vector<std::string> errors(rows);
  const std::string file = path.string();
  [[maybe_unused]] const int threads = detail::loader_threads(options.num_threads);
#pragma omp parallel for schedule(dynamic, 256) num_threads(threads)
  for (std::int64_t r = 0; r < static_cast<std::int64_t>(rows); ++r) {
    const auto s = static_cast<std::size_t>(r);
    const std::string why =
        detail::parse_fer_row(lines[s + 1], columns, labels[s], usages[s], staged.data() + s * detail::fer_pixels);
    if (!why.empty()) errors[s] = file + ":" + std::to_string(line_numbers[s + 1]) + ": " + why;
  }
  Fer2013Csv out;
  detail::handle_bad_inputs(op, errors, options.on_bad_image, out.report);

  Dataset* parts[3] = {&out.training, &out.public_test, &out.private_test};
  std::size_t part_rows[3] = {0, 0, 0};
  for (std::size_t r = 0; r < rows; ++r)
    if (errors[r].empty()) ++part_rows[usages[r]];
  for (int u = 0; u < 3; ++u) {
    Dataset& ds = *parts[u];
    ds.height = ds.width = options.image_size;
    ds.origin_names = {detail::fer_usages()[u]};
    ds.pixels.reserve(part_rows[u] * ds.image_pixels());
    ds.labels.reserve(part_rows[u]);
    ds.report.loaded = part_rows[u];
  }
  for (std::size_t r = 0; r < rows; ++r) {
    if (!errors[r].empty()) continue;
    Dataset& ds = *parts[usages[r]];
    const std::uint8_t* image = staged.data() + r * detail::fer_pixels;
    const std::size_t at = ds.pixels.size();
    ds.pixels.resize(at + ds.image_pixels());
    resize_gray(image, detail::fer_side, detail::fer_side, ds.pixels.data() + at, ds.width, ds.height);
    ds.labels.push_back(labels[r]);
    ds.sources.push_back(file + ":" + std::to_string(line_numbers[r + 1]));
    ds.content_hashes.push_back(pixel_hash(image, detail::fer_side, detail::fer_side));
    ds.origins.push_back(0);
  }
  out.report.loaded = part_rows[0] + part_rows[1] + part_rows[2];
  return out;
}

}  // namespace mien
