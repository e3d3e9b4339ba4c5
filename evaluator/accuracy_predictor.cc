#include "evaluator/accuracy_predictor.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/errors.h"
#include "core/stable_hash.h"

namespace hwnas {

namespace {

constexpr const char* kHeader = "hwnas-accuracy-predictor";
// 2: NB201 choices reach the model with dead edges as `none` (SearchSpace::LearnedChoices).
constexpr int kVersion = 2;

}  // namespace

void AccuracyPredictor::Fit(const std::vector<GpInput>& inputs,
                            const std::vector<double>& accuracies,
                            const GaussianProcess::Hyperparameters* fixed) {
  std::vector<double> errors;
  for (double a : accuracies) errors.push_back(100.0 - a);
  warp_ = RankWarp(errors);
  std::vector<double> scores;
  for (double e : errors) scores.push_back(warp_.Forward(e));
  gp_.Fit(inputs, scores, fixed);
}

double AccuracyPredictor::PredictAccuracy(const GpInput& input) const {
  return 100.0 - warp_.Inverse(gp_.Predict(input).mean);
}

void AccuracyPredictor::Save(const std::string& path, const std::string& space_name) const {
  std::ostringstream body;
  body << "space " << space_name << "\nwarp " << warp_.sorted().size();
  for (double v : warp_.sorted()) {
    char text[40];
    std::snprintf(text, sizeof text, " %a", v);
    body << text;
  }
  body << "\n";
  gp_.Write(body);
  const std::string text = body.str();
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary);
    out << kHeader << " " << kVersion << " " << StableHash(text) << "\n" << text;
    if (!out) throw IoError(path + ": cannot write the model file");
  }
  // Written whole, then renamed: a crash never leaves half a model under the real name.
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    throw IoError(path + ": cannot write the model file");
  }
}

AccuracyPredictor AccuracyPredictor::Load(const std::string& path, std::string* space_name) {
  std::ifstream in(path);
  if (!in) throw IoError(path + ": cannot open file");
  std::string header;
  int version = 0;
  uint64_t checksum = 0;
  in >> header >> version >> checksum;
  if (header != kHeader) throw IoError(path + ": not an hwnas accuracy-predictor file");
  if (version != kVersion) {
    throw IoError(path + ": model file version " + std::to_string(version) +
                  ", this hwnas reads version " + std::to_string(kVersion));
  }
  in.ignore(1);
  std::stringstream rest;
  rest << in.rdbuf();
  const std::string text = rest.str();
  if (StableHash(text) != checksum) {
    throw IoError(path + ": checksum mismatch (truncated or edited file)");
  }
  std::istringstream body(text);
  // The space name is the rest of its line: space names may hold blanks.
  std::string word, space;
  size_t n = 0;
  body >> word;
  body.ignore(1);
  std::getline(body, space);
  body >> word >> n;
  std::vector<double> sorted(n);
  for (auto& v : sorted) {
    std::string token;
    body >> token;
    v = std::strtod(token.c_str(), nullptr);
  }
  AccuracyPredictor predictor;
  predictor.warp_ = RankWarp(sorted);
  if (!body || !GaussianProcess::Read(body, predictor.gp_)) {
    throw IoError(path + ": malformed model file");
  }
  if (space_name) *space_name = space;
  return predictor;
}

}  // namespace hwnas
