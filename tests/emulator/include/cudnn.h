#pragma once
// The mien CUDA emulator's stand-in for cuDNN (tests/emulator).
#include "mien_emulator/cudnn.hpp"
