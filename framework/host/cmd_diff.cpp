// `tessel diff REF_DIR OUR_DIR [--tol X]`: compares two tensor dumps (index.json
// + .npy, as `tessel dump` and the golden layer dumps write them) in the
// reference's evaluation order. Prints each tensor's max abs error and its
// relative error (max abs / max |ref|); stops at the first one over --tol and
// exits 1. View-like nodes (RESHAPE, VIEW, PERMUTE, TRANSPOSE, SET_ROWS, names
// with " (view)"...) are skipped and names are numbered among the remaining
// nodes on both sides, so dumps with and without views align.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "tessel/error.hpp"
#include "tessel/npy.hpp"

namespace {

namespace fs = std::filesystem;

struct Options {
  std::string ref, ours;
  double tol = 1e-3;
};

struct Node {
  std::string name, file;
  int k = 0;  // occurrence among non-view nodes
};

std::vector<Node> read_index(const fs::path& dir) {
  const fs::path path = dir / "index.json";
  if (!fs::exists(path)) throw tessel::Error("diff: " + path.string() + " does not exist");
  nlohmann::json j;
  try {
    std::ifstream in(path);
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw tessel::Error("diff: " + path.string() + " is not valid JSON: " + e.what());
  }
  if (!j.contains("nodes") || !j["nodes"].is_array())
    throw tessel::Error("diff: " + path.string() + " has no \"nodes\" array");
  std::vector<Node> nodes;
  std::map<std::string, int> count;
  for (const auto& n : j["nodes"]) {
    const std::string name = n.value("name", ""), op = n.value("op", "");
    if (name.empty() || !n.contains("file")) continue;
    if (op == "RESHAPE" || op == "VIEW" || op == "PERMUTE" || op == "TRANSPOSE" ||
        op == "SET_ROWS" || op == "CPY" || name.find(" (") != std::string::npos)
      continue;
    nodes.push_back({name, n["file"].get<std::string>(), ++count[name]});
  }
  return nodes;
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

tessel::host::Command diff_cmd{
    "diff", "Compare two tensor dumps op by op", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("ref", o->ref, "Reference dump folder (e.g. a golden layers/ folder)")->required();
      app.add_option("ours", o->ours, "Dump folder to check (tessel dump -o)")->required();
      app.add_option("--tol", o->tol, "Largest relative error allowed (max abs / max |ref|)");
      return [o]() -> int {
        const auto ref = read_index(o->ref), ours = read_index(o->ours);
        std::map<std::pair<std::string, int>, std::string> ours_by;
        for (const auto& n : ours) ours_by[{n.name, n.k}] = n.file;
        int compared = 0, missing = 0;
        for (const auto& r : ref) {
          auto it = ours_by.find({r.name, r.k});
          if (it == ours_by.end()) { ++missing; continue; }
          const auto a = tessel::read_npy(fs::path(o->ref) / r.file);
          const auto b = tessel::read_npy(fs::path(o->ours) / it->second);
          const std::string label = r.name + (r.k > 1 ? " #" + std::to_string(r.k) : "");
          if (a.shape != b.shape) {
            std::printf("%-28s shape %s vs %s  MISMATCH\n", label.c_str(), shape_str(a.shape).c_str(),
                        shape_str(b.shape).c_str());
            return 1;
          }
          const auto x = a.as_floats(), y = b.as_floats();
          double max_abs = 0, max_ref = 0;
          bool nan = false;
          for (size_t i = 0; i < x.size(); ++i) {
            if (std::isnan(x[i]) != std::isnan(y[i])) nan = true;
            if (std::isnan(x[i]) || std::isnan(y[i])) continue;
            if (std::isinf(x[i]) || std::isinf(y[i])) {
              if (x[i] != y[i]) nan = true;
              continue;
            }
            max_abs = std::max(max_abs, std::fabs(double(x[i]) - double(y[i])));
            max_ref = std::max(max_ref, std::fabs(double(x[i])));
          }
          const double rel = max_ref > 0 ? max_abs / max_ref : max_abs;
          const bool bad = nan || !(rel <= o->tol);
          std::printf("%-28s %-18s max_abs %.3e  rel %.3e  %s\n", label.c_str(),
                      shape_str(a.shape).c_str(), max_abs, rel, bad ? "OVER TOLERANCE" : "ok");
          ++compared;
          if (bad) {
            std::printf("stopped at %s (tolerance %.3e)\n", label.c_str(), o->tol);
            return 1;
          }
        }
        std::printf("%d tensors within %.3e (%d reference tensors not in %s)\n", compared, o->tol,
                    missing, o->ours.c_str());
        if (compared == 0) throw tessel::Error("diff: no tensor names in common");
        return 0;
      };
    }};

}  // namespace
