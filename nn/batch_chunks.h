// Parallel loops over a batch in fixed chunks. The chunking depends on the batch size only,
// never on the thread count, so per-chunk partial sums added in chunk order give results that
// are bit-identical at any thread count.
#pragma once

#include <tbb/parallel_for.h>

#include <algorithm>

namespace hwnas {

inline int ChunkCount(int items, int chunk) { return (items + chunk - 1) / chunk; }

// fn(chunk_index, first_item, end_item) for each chunk, in parallel.
template <typename Fn>
void ForEachChunk(int items, int chunk, Fn fn) {
  tbb::parallel_for(0, ChunkCount(items, chunk), [&](int k) {
    fn(k, k * chunk, std::min(items, (k + 1) * chunk));
  });
}

}  // namespace hwnas
