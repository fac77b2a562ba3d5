#pragma once
// The mien CUDA emulator's stand-in for the WMMA header (tests/emulator).
#include "mien_emulator/wmma.hpp"
