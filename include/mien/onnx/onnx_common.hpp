#pragma once
// What mien's ONNX exporter and importer share: the opset, the metadata keys a mien export carries, and conversions
// between ONNX's protobuf messages (Debian's libonnx-dev, ONNX 1.12) and mien tensors.
//
// Needs the ONNX libraries: link the CMake targets `onnx` and `onnx_proto` (find_package(ONNX)), which also define
// ONNX_NAMESPACE=onnx and ONNX_ML=1 for these headers.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include "mien/core/error.hpp"
#include "mien/core/tensor.hpp"

namespace mien::onnx_format {

// The newest opset Debian's onnx 1.12 checks; OpenCV DNN 4.6 and ONNX Runtime read it.
constexpr std::int64_t opset = 17;

// metadata_props of a mien export; an import reads them back where present (a foreign file has none).
constexpr const char* key_class_names = "mien.class_names";        // JSON list, in output order
constexpr const char* key_pixel_mean = "mien.pixel_mean";          // input = (pixel / 255 - mean) / stddev
constexpr const char* key_pixel_stddev = "mien.pixel_stddev";
constexpr const char* key_input_size = "mien.input_size";          // S of the [N, C, S, S] input
constexpr const char* key_architecture = "mien.architecture";      // the exported model's architecture(), JSON
constexpr const char* key_mien_version = "mien.version";

inline std::string mien_version() { return "0.1.0"; }

inline ::onnx::TensorProto to_tensor_proto(const std::string& name, const Tensor<float>& t) {
  const Tensor<float> host = t.to(Device::cpu);
  ::onnx::TensorProto proto;
  proto.set_name(name);
  proto.set_data_type(::onnx::TensorProto::FLOAT);
  for (int i = 0; i < host.shape().rank(); ++i) proto.add_dims(host.shape()[i]);
  // raw_data is little-endian, as x86-64 and every GPU host mien runs on
  proto.set_raw_data(std::string(reinterpret_cast<const char*>(host.data()), host.numel() * sizeof(float)));
  return proto;
}

inline ::onnx::TensorProto int64_tensor_proto(const std::string& name, const std::vector<std::int64_t>& values) {
  ::onnx::TensorProto proto;
  proto.set_name(name);
  proto.set_data_type(::onnx::TensorProto::INT64);
  proto.add_dims(static_cast<std::int64_t>(values.size()));
  proto.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(std::int64_t)));
  return proto;
}

inline std::vector<std::int64_t> dims_of(const ::onnx::TensorProto& proto) {
  return std::vector<std::int64_t>(proto.dims().begin(), proto.dims().end());
}

inline std::int64_t element_count(const ::onnx::TensorProto& proto) {
  std::int64_t n = 1;
  for (std::int64_t d : proto.dims()) n *= d;
  return n;
}

// A tensor's values of element type V (ONNX type `type`), from raw_data or from its typed field `typed`
// (float_data, int64_data); `what` names it in errors.
template <class V, class Repeated>
std::vector<V> tensor_values(const ::onnx::TensorProto& proto, const std::string& what, int type, const char* type_name,
                             const Repeated& typed) {
  if (proto.data_type() != type)
    throw InvalidArgument(what + ": expected " + type_name + " tensor, got ONNX data type " +
                          std::to_string(proto.data_type()));
  if (proto.data_location() == ::onnx::TensorProto::EXTERNAL)
    throw InvalidArgument(what + ": tensors stored in external files are not read; save the model with its weights inside");
  const std::int64_t n = element_count(proto);
  std::vector<V> values(static_cast<std::size_t>(n));
  if (proto.has_raw_data()) {
    if (proto.raw_data().size() != values.size() * sizeof(V))
      throw InvalidArgument(what + ": holds " + std::to_string(proto.raw_data().size()) + " bytes for " +
                            std::to_string(n) + " values of " + std::to_string(sizeof(V)) + " bytes");
    std::memcpy(values.data(), proto.raw_data().data(), proto.raw_data().size());
  } else {
    if (typed.size() != n)
      throw InvalidArgument(what + ": holds " + std::to_string(typed.size()) + " values for " + std::to_string(n) +
                            " elements");
    std::copy(typed.begin(), typed.end(), values.begin());
  }
  return values;
}

inline std::vector<float> float_values(const ::onnx::TensorProto& proto, const std::string& what) {
  return tensor_values<float>(proto, what, ::onnx::TensorProto::FLOAT, "a float", proto.float_data());
}

inline std::vector<std::int64_t> int64_values(const ::onnx::TensorProto& proto, const std::string& what) {
  return tensor_values<std::int64_t>(proto, what, ::onnx::TensorProto::INT64, "an int64", proto.int64_data());
}

// ONNX's own checker, with its complaint as mien's error.
inline void check_model(const ::onnx::ModelProto& model, const std::string& what) {
  try {
    ::onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw InvalidArgument(what + " fails the ONNX checker: " + e.what());
  }
}

inline std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open '" + path + "'");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw IoError("cannot read '" + path + "'");
  return bytes;
}

}  // namespace mien::onnx_format
