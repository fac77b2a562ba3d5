// libFuzzer target: checkpoint reading (mien::read_checkpoint and the paper network's model description). The
// target rewrites the last four bytes of each input with the CRC-32 of the rest, so that mutations get past the
// checksum and reach the header and tensor-table parsing (a CRC is no defence against a crafted file). Any input
// must load or throw a mien::Error.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "mien/io/checkpoint.hpp"
#include "mien/train/checkpointing.hpp"
#include "scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = mien::fuzz::scratch_file("/tmp/mien-fuzz-ckpt-XXXXXX");
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (bytes.size() >= 4) {
    const std::uint32_t crc =
        mien::detail::crc32_update(0, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size() - 4);
    for (int i = 0; i < 4; ++i) bytes[bytes.size() - 4 + i] = static_cast<char>(crc >> (8 * i));
  }
  mien::fuzz::write_scratch(path, bytes.data(), bytes.size());
  try {
    const mien::Checkpoint ckpt = mien::read_checkpoint(path);
    for (const auto& [name, tensor] : ckpt.tensors)
      if (static_cast<std::int64_t>(tensor.numel()) != tensor.shape().numel()) std::abort();
    mien::model_info_from(ckpt, path);
  } catch (const mien::Error&) {
  }
  return 0;
}
