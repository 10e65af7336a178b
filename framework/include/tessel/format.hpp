#pragma once
// Plugin kind "format": opens (and optionally writes) weight files.
#include <filesystem>
#include <memory>
#include <span>

#include "tessel/plugin.hpp"
#include "tessel/tensor.hpp"

namespace tessel {

class WeightFormat : public PluginObject {
 public:
  // Cheap sniff of the first bytes; never throws.
  virtual bool can_open(const std::filesystem::path& path) const = 0;
  // Throws tessel::Error naming the file and the problem.
  virtual std::unique_ptr<ModelFile> open(const std::filesystem::path& path) const = 0;

  virtual bool can_write() const { return false; }
  // Writes whole or not at all (temp file, then rename). `alignment` 0 means
  // the format's default or general.alignment from `meta`.
  virtual void write(const std::filesystem::path& path, const Metadata& meta,
                     std::span<const TensorToWrite> tensors) const;
};

}  // namespace tessel
