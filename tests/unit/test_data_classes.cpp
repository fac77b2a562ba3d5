// The seven emotion classes and the mapping from data set folder names to them.
#include <catch2/catch.hpp>

#include "mien/data/classes.hpp"

using namespace mien;

TEST_CASE("Emotion classes follow FER2013's CSV codes", "[data][classes]") {
  const std::vector<std::string> expected = {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"};
  CHECK(emotion_class_names() == expected);
  CHECK(static_cast<int>(Emotion::neutral) == 6);
  for (int c = 0; c < num_emotion_classes; ++c) CHECK(find_emotion_class(expected[c]) == c);
}

TEST_CASE("Folder names map to classes whatever their spelling", "[data][classes]") {
  CHECK(find_emotion_class("Angry") == 0);
  CHECK(find_emotion_class("ANGER") == 0);
  CHECK(find_emotion_class("disgusted") == 1);
  CHECK(find_emotion_class("Fearful") == 2);
  CHECK(find_emotion_class("fearfull") == 2);
  CHECK(find_emotion_class("afraid") == 2);
  CHECK(find_emotion_class("Happiness") == 3);
  CHECK(find_emotion_class("sadness") == 4);
  CHECK(find_emotion_class("Surprised") == 5);
  CHECK(find_emotion_class(" neutral ") == 6);
  CHECK(find_emotion_class("NE") == 6);  // JAFFE / KDEF codes
  CHECK(find_emotion_class("0") == 0);
  CHECK(find_emotion_class("6") == 6);

  CHECK(find_emotion_class("7") == -1);
  CHECK(find_emotion_class("contempt") == -1);  // CK+ has it; the paper's seven classes do not
  CHECK(find_emotion_class("") == -1);
  CHECK(find_emotion_class("happy2") == -1);
}

TEST_CASE("An unknown class name is an error naming the folder", "[data][classes]") {
  CHECK(emotion_class_from_name("Sadness", "/data/ck/Sadness") == 4);
  try {
    emotion_class_from_name("contempt", "/data/ck/contempt");
    FAIL("no error for an unknown class");
  } catch (const InvalidArgument& e) {
    const std::string what = e.what();
    CHECK(what.find("/data/ck/contempt") != std::string::npos);
    CHECK(what.find("angry") != std::string::npos);
  }
}
