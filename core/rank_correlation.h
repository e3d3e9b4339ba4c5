// Rank agreement between two equally long series: Kendall's tau-b and Spearman's rho (ties
// take their mean rank). Used to judge predictors and device models.
#pragma once

#include <vector>

namespace hwnas {

double KendallTau(const std::vector<double>& a, const std::vector<double>& b);
double SpearmanRho(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace hwnas
