// The IDX format of the MNIST family: a 4-byte magic (two zero bytes, a type byte, the number of
// dimensions), each dimension as a big-endian uint32, then the values in row-major order. Files
// are read gzip'd or plain, told apart by the gzip magic bytes (1f 8b), not by the name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hwnas {

// The contents of an IDX file of unsigned bytes (type 0x08).
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> values;  // row-major, as many as the product of dims
};

// Reads an IDX file whole. Throws IoError naming the file when it is missing or unreadable, has a
// bad magic number, is shorter than its header says (a truncated gzip stream included) or longer;
// UnsupportedError for a value type other than unsigned byte.
IdxArray ReadIdxFile(const std::string& path);

}  // namespace hwnas
