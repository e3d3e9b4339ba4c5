#include "compress/mask.h"

#include <utility>

#include "compress/checks.h"
#include "core/errors.h"

namespace hwnas {

namespace {

constexpr const char* kWhat = "pruning mask";

}  // namespace

Mask::Mask(WeightMatrix keep) : keep_(std::move(keep)) {
  compress_checks::CheckNotEmpty(kWhat, "keep matrix", keep_.rows(), keep_.cols());
  // count() rather than all(): it vectorises, all() does not.
  if (((keep_.array() == 0.0f) || (keep_.array() == 1.0f)).count() != keep_.size()) {
    throw ConfigError(std::string(kWhat) + ": keep must hold only 0 (pruned) and 1 (kept)");
  }
}

int64_t Mask::pruned() const { return (keep_.array() == 0.0f).count(); }

void Mask::ZeroPruned(WeightRef values, const char* name) const {
  compress_checks::CheckShape(kWhat, name, values.rows(), values.cols(), rows(), cols(),
                              "the mask's shape");
  values.array() *= keep_.array();
}

}  // namespace hwnas
