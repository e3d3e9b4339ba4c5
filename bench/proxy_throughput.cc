// Proxy evaluations per hour at each thread count: the run config's evaluator scores the same
// random candidates in the run's batches, inside an arena of 1 thread, then of 2 (as `hwnas
// search --threads N` does). Prints evaluations per hour, the speed-up over 1 thread, whether
// every thread count gave the same accuracies, and the process's peak memory.
//
//   proxy_throughput [--config configs/runs/fmnist.yaml] [--evaluations 16] [--threads 1,2]
// The teacher and supernet come from the cache (a first run trains them).
#include <sys/resource.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "core/rng.h"
#include "search/run.h"

namespace hwnas {
namespace {

int Main(int argc, char** argv) {
  std::string config_path = std::string(HWNAS_SOURCE_DIR) + "/configs/runs/fmnist.yaml";
  std::string threads_text = "1,2";
  int64_t count = 16;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--config")) config_path = argv[i + 1];
    else if (!std::strcmp(argv[i], "--evaluations")) count = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) threads_text = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  std::vector<int> thread_counts;
  std::stringstream in(threads_text);
  for (std::string item; std::getline(in, item, ',');) thread_counts.push_back(std::atoi(item.c_str()));
  if (count < 1 || thread_counts.empty() ||
      *std::min_element(thread_counts.begin(), thread_counts.end()) < 1) {
    std::fprintf(stderr, "proxy_throughput: --evaluations and every --threads count must be whole numbers >= 1\n");
    return 2;
  }

  const RunConfig config = LoadRunConfig(config_path);
  const auto space = LoadSearchSpace(config.space_path);
  const auto evaluator = MakeEvaluator(config.Evaluator(), MakeEvaluatorContext(*space, {}));
  Rng rng(config.seed);
  const std::vector<NetworkSpec> specs = DistinctSampledNetworks(*space, static_cast<size_t>(count), rng);

  std::printf("proxy_throughput: %s, %lld random candidates in batches of %d\n", config_path.c_str(),
              static_cast<long long>(count), config.batch);
  std::printf("| threads | seconds | evaluations/hour | speed-up over %d | same accuracies |\n"
              "|---|---|---|---|---|\n", thread_counts.front());
  std::vector<double> first_accuracies;
  double first_rate = 0;
  for (const int threads : thread_counts) {
    std::vector<double> accuracies(specs.size());
    tbb::task_arena arena(threads);
    const auto start = std::chrono::steady_clock::now();
    for (size_t first = 0; first < specs.size(); first += static_cast<size_t>(config.batch)) {
      const size_t end = std::min(specs.size(), first + static_cast<size_t>(config.batch));
      arena.execute([&] {
        tbb::parallel_for(first, end, [&](size_t i) {
          // Isolated, as a run's evaluations are.
          const EvalResult result =
              tbb::this_task_arena::isolate([&] { return evaluator->Evaluate(specs[i]); });
          accuracies[i] = result.ok() ? result.accuracy : -1;
        });
      });
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = 3600.0 * static_cast<double>(specs.size()) / seconds;
    if (first_accuracies.empty()) {
      first_accuracies = accuracies;
      first_rate = rate;
    }
    std::printf("| %d | %.1f | %.0f | %.2fx | %s |\n", threads, seconds, rate, rate / first_rate,
                accuracies == first_accuracies ? "yes" : "no");
    std::fflush(stdout);
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("peak memory (RSS): %.2f GB\n", static_cast<double>(usage.ru_maxrss) / (1024.0 * 1024.0));
  return 0;
}

}  // namespace
}  // namespace hwnas

int main(int argc, char** argv) {
  try {
    return hwnas::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "proxy_throughput: %s\n", e.what());
    return 1;
  }
}
