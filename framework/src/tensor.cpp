#include "tessel/tensor.hpp"

#include "tessel/error.hpp"
#include "tessel/format.hpp"

namespace tessel {

std::string TensorInfo::shape_string() const {
  std::string s = "[";
  for (int d = 0; d < n_dims; ++d) s += (d ? ", " : "") + std::to_string(ne[d]);
  return s + "]";
}

void ModelFile::build_index() {
  by_name_.clear();
  for (size_t i = 0; i < tensors.size(); ++i) by_name_.emplace(tensors[i].name, i);
}

const TensorInfo* ModelFile::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &tensors[it->second];
}

const TensorInfo& ModelFile::get(std::string_view name) const {
  if (const TensorInfo* t = find(name)) return *t;
  throw Error(path.string() + ": tensor '" + std::string(name) + "' not found");
}

void WeightFormat::write(const std::filesystem::path& path, const Metadata&,
                         std::span<const TensorToWrite>) const {
  throw Error(path.string() + ": this weight format cannot write files");
}

}  // namespace tessel
