#include "core/candidate.h"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

namespace hwnas {
namespace {

// Pinned once: stored databases key candidates on this hash, so it must never change.
TEST(CandidateHash, IsPinned) {
  EXPECT_EQ(CandidateHash("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|"
                          "nor_conv_3x3~1|skip_connect~2|"),
            0x483c4e4d7e4652e7ull);
  EXPECT_EQ(CandidateHash(""), 0xc3817c016ba4ff30ull);
}

TEST(CandidateHash, DependsOnContentNotOnBuffer) {
  const std::string a = "width=16;depth=2";
  const std::string b = std::string("width=16;") + "depth=2";
  EXPECT_EQ(CandidateHash(a), CandidateHash(b));
  EXPECT_EQ(CandidateHash(std::string_view(a).substr(0, 8)), CandidateHash("width=16"));
}

TEST(CandidateHash, DistinctForDistinctStrings) {
  std::unordered_set<uint64_t> hashes;
  size_t strings = 0;
  // Near-identical strings: every single-character change of a base string, and many numbers.
  const std::string base = "a=0;b=1;c=2";
  for (size_t i = 0; i < base.size(); ++i) {
    for (char c = 32; c < 127; ++c) {
      std::string s = base;
      if (s[i] == c) continue;
      s[i] = c;
      hashes.insert(CandidateHash(s));
      ++strings;
    }
  }
  for (int i = 0; i < 100000; ++i) {
    hashes.insert(CandidateHash("knob=" + std::to_string(i)));
    ++strings;
  }
  hashes.insert(CandidateHash(base));
  ++strings;
  EXPECT_EQ(hashes.size(), strings);
}

}  // namespace
}  // namespace hwnas
