#pragma once
// The mien CUDA emulator's stand-in for the CUDA runtime header (tests/emulator).
#include "mien_emulator/threads.hpp"
