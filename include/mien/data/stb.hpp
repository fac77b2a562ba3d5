#pragma once
// stb_image and stb_image_write (public-domain single-file libraries, Debian's libstb-dev), compiled into every
// translation unit that includes this header as private (static) functions. That keeps mien header-only: no
// translation unit has to own "the" implementation, and several mien programs linked together never clash.
//
// Include mien's data headers before any direct #include of stb_image.h / stb_image_write.h in the same
// translation unit (a later direct include then reuses these declarations), and do not define
// STB_IMAGE_IMPLEMENTATION or STB_IMAGE_WRITE_IMPLEMENTATION in such a unit: mien's copy already serves it.
#if defined(STBI_INCLUDE_STB_IMAGE_H) || defined(INCLUDE_STB_IMAGE_WRITE_H)
#error "mien: include mien's data headers before stb_image.h / stb_image_write.h (see mien/data/stb.hpp)"
#endif

// Third-party code: its warnings are not ours to fix, so they are silenced here and only here.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunused-function"
#pragma clang diagnostic ignored "-Wunused-parameter"
#pragma clang diagnostic ignored "-Wunused-but-set-variable"
#pragma clang diagnostic ignored "-Wsign-compare"
#pragma clang diagnostic ignored "-Wmissing-field-initializers"
#pragma clang diagnostic ignored "-Wimplicit-fallthrough"
#pragma clang diagnostic ignored "-Wcast-qual"
#pragma clang diagnostic ignored "-Wdouble-promotion"
#elif defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wtype-limits"
#endif
#if defined(__NVCC__)
// nvcc's front end: 177 = declared but never referenced, 550 = set but never used (unused static functions
// and variables are expected: each unit uses a few of stb's functions).
#pragma nv_diagnostic push
#pragma nv_diag_suppress 177
#pragma nv_diag_suppress 550
#endif

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG  // "Corrupt JPEG" rather than "bad huffman code"
#include <stb/stb_image.h>
#undef STB_IMAGE_IMPLEMENTATION

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#undef STB_IMAGE_WRITE_IMPLEMENTATION

#if defined(__NVCC__)
#pragma nv_diagnostic pop
#endif
#if defined(__clang__)
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
