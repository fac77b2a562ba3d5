#pragma once
// The seven emotion classes of the paper, numbered as FER2013's original CSV codes them, and the mapping from
// the folder names that data sets use (FER2013's Kaggle folders, CK+, JAFFE, KDEF, numbered folders) to them.
#include <array>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "mien/core/error.hpp"

namespace mien {

inline constexpr int num_emotion_classes = 7;

// FER2013's codes: 0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral.
enum class Emotion : int { angry = 0, disgust = 1, fear = 2, happy = 3, sad = 4, surprise = 5, neutral = 6 };

inline const std::array<const char*, num_emotion_classes>& emotion_names() {
  static const std::array<const char*, num_emotion_classes> names = {"angry", "disgust",  "fear",   "happy",
                                                                     "sad",   "surprise", "neutral"};
  return names;
}

inline std::vector<std::string> emotion_class_names() {
  const auto& names = emotion_names();
  return std::vector<std::string>(names.begin(), names.end());
}

// The class that a folder or label name denotes, or -1 when it names none. Case and surrounding blanks are
// ignored; the spellings are those the paper's data sets and their common re-packagings use, including the
// two-letter codes of JAFFE and KDEF file names and the folder numbers "0".."6" (FER2013's codes).
inline int find_emotion_class(std::string_view name) {
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.front()))) name.remove_prefix(1);
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.remove_suffix(1);
  std::string key(name);
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));

  struct Alias {
    const char* spelling;
    Emotion emotion;
  };
  static const Alias aliases[] = {
      {"angry", Emotion::angry},       {"anger", Emotion::angry},
      {"an", Emotion::angry},          {"disgust", Emotion::disgust},
      {"disgusted", Emotion::disgust}, {"di", Emotion::disgust},
      {"fear", Emotion::fear},         {"fearful", Emotion::fear},
      {"fearfull", Emotion::fear},     {"afraid", Emotion::fear},
      {"fe", Emotion::fear},           {"af", Emotion::fear},
      {"happy", Emotion::happy},       {"happiness", Emotion::happy},
      {"ha", Emotion::happy},          {"sad", Emotion::sad},
      {"sadness", Emotion::sad},       {"sa", Emotion::sad},
      {"surprise", Emotion::surprise}, {"surprised", Emotion::surprise},
      {"su", Emotion::surprise},       {"neutral", Emotion::neutral},
      {"ne", Emotion::neutral},
  };
  for (const Alias& a : aliases)
    if (key == a.spelling) return static_cast<int>(a.emotion);
  if (key.size() == 1 && key[0] >= '0' && key[0] < '0' + num_emotion_classes) return key[0] - '0';
  return -1;
}

// The error for a folder (`where`) whose name (`name`) denotes no class: it lists the names that work.
inline InvalidArgument unknown_emotion_class(std::string_view name, std::string_view where) {
  std::string known;
  for (const char* n : emotion_names()) known += std::string(known.empty() ? "" : ", ") + n;
  return InvalidArgument(detail::concat("class folder '", where, "': '", name, "' names no emotion class (known: ",
                                        known, ", their usual variants such as anger/fearful/sadness, or 0..6)"));
}

// The class of a folder name; throws InvalidArgument naming the folder (`where`) when the name denotes none.
inline int emotion_class_from_name(std::string_view name, std::string_view where) {
  const int label = find_emotion_class(name);
  if (label < 0) throw unknown_emotion_class(name, where);
  return label;
}

}  // namespace mien
