#pragma once
// The mien CUDA emulator's stand-in for cuBLAS (tests/emulator).
#include "mien_emulator/cublas.hpp"
