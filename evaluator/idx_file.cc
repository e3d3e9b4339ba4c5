#include "evaluator/idx_file.h"

#define ZLIB_CONST
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <limits>

#include "core/errors.h"

namespace hwnas {
namespace {

constexpr uint8_t kUnsignedByteType = 0x08;

// The value types the IDX format defines, so that a file of another one is named, not called
// garbage.
struct IdxType {
  uint8_t code;
  const char* name;
};
constexpr IdxType kIdxTypes[] = {{0x08, "unsigned byte"}, {0x09, "signed byte"}, {0x0B, "int16"},
                                 {0x0C, "int32"},         {0x0D, "float32"},     {0x0E, "float64"}};

const char* TypeName(uint8_t code) {
  for (const IdxType& type : kIdxTypes) {
    if (type.code == code) return type.name;
  }
  return nullptr;
}

std::string HexByte(uint8_t byte) {
  char text[3];
  std::snprintf(text, sizeof text, "%02x", byte);
  return text;
}

std::string JoinDims(const std::vector<int64_t>& dims) {
  std::string text;
  for (size_t i = 0; i < dims.size(); ++i) text += (i ? " x " : "") + std::to_string(dims[i]);
  return text;
}

// The number of values `dims` describe, saturated so that a garbage header cannot overflow it.
uint64_t ValueCount(const std::vector<int64_t>& dims) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  uint64_t count = 1;
  for (const int64_t dim : dims) {
    const auto d = static_cast<uint64_t>(dim);
    count = (d != 0 && count > kMax / d) ? kMax : count * d;
  }
  return count;
}

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw IoError(path + ": cannot open file");
  const std::streamoff size = in.tellg();
  if (size < 0) throw IoError(path + ": cannot read file");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), size)) {
    throw IoError(path + ": cannot read file");
  }
  return bytes;
}

bool IsGzip(const std::vector<uint8_t>& bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

// Inflates every member of a gzip stream (`cat a.gz b.gz` makes a valid one of two members).
std::vector<uint8_t> Gunzip(const std::vector<uint8_t>& compressed, const std::string& path) {
  z_stream stream{};
  // 16 + MAX_WBITS: expect the gzip wrapper, not zlib's.
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) throw IoError(path + ": cannot start zlib");
  struct InflateEnd {
    z_stream* stream;
    ~InflateEnd() { inflateEnd(stream); }
  } inflate_end{&stream};

  constexpr size_t kMaxChunk = size_t{1} << 30;  // zlib counts bytes in 32 bits
  const uint8_t* next_in = compressed.data();
  size_t left_in = compressed.size();
  std::vector<uint8_t> out(2 * compressed.size() + 4096);
  size_t produced = 0;
  for (;;) {
    if (stream.avail_in == 0) {
      stream.next_in = next_in;
      stream.avail_in = static_cast<uInt>(std::min(left_in, kMaxChunk));
      next_in += stream.avail_in;
      left_in -= stream.avail_in;
    }
    if (produced == out.size()) out.resize(2 * out.size());
    stream.next_out = out.data() + produced;
    stream.avail_out = static_cast<uInt>(std::min(out.size() - produced, kMaxChunk));
    const uInt room = stream.avail_out;
    const int status = inflate(&stream, Z_NO_FLUSH);
    produced += room - stream.avail_out;
    if (status == Z_STREAM_END) {
      if (stream.avail_in == 0 && left_in == 0) break;
      inflateReset(&stream);
    } else if (status == Z_BUF_ERROR) {
      // There was room for output, so inflate stalled for want of input.
      throw IoError(path + ": truncated gzip stream (the file ends before the stream does)");
    } else if (status != Z_OK) {
      throw IoError(path + ": corrupt gzip stream (" +
                    std::string(stream.msg ? stream.msg : zError(status)) + ")");
    }
  }
  out.resize(produced);
  return out;
}

IdxArray ParseIdx(const std::vector<uint8_t>& bytes, const std::string& path) {
  if (bytes.size() < 4) {
    throw IoError(path + ": truncated IDX header (" + std::to_string(bytes.size()) +
                  " bytes; the magic number alone takes 4)");
  }
  const uint8_t type = bytes[2];
  const int num_dims = bytes[3];
  if (bytes[0] != 0 || bytes[1] != 0 || !TypeName(type) || num_dims == 0) {
    throw IoError(path + ": bad magic number " + HexByte(bytes[0]) + " " + HexByte(bytes[1]) + " " +
                  HexByte(type) + " " + HexByte(bytes[3]) +
                  ", not an IDX file (expected 00 00, a type byte, a dimension count)");
  }
  if (type != kUnsignedByteType) {
    throw UnsupportedError(path + ": IDX type 0x" + HexByte(type) + " (" + TypeName(type) +
                           ") is not supported, only 0x08 (unsigned byte)");
  }
  const size_t header_size = 4 + 4 * static_cast<size_t>(num_dims);
  if (bytes.size() < header_size) {
    throw IoError(path + ": truncated IDX header (" + std::to_string(num_dims) +
                  " dimensions take " + std::to_string(header_size) + " bytes, the file has " +
                  std::to_string(bytes.size()) + ")");
  }
  IdxArray array;
  for (int i = 0; i < num_dims; ++i) {
    const uint8_t* d = bytes.data() + 4 + 4 * i;  // big-endian
    array.dims.push_back((int64_t{d[0]} << 24) | (int64_t{d[1]} << 16) | (int64_t{d[2]} << 8) |
                         int64_t{d[3]});
  }
  const uint64_t expected = ValueCount(array.dims);
  const size_t found = bytes.size() - header_size;
  if (found != expected) {
    throw IoError(path + ": " + (found < expected ? "truncated: " : "") + "dimensions " +
                  JoinDims(array.dims) + " take " + std::to_string(expected) +
                  " bytes of data, the file has " + std::to_string(found));
  }
  array.values.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header_size), bytes.end());
  return array;
}

}  // namespace

IdxArray ReadIdxFile(const std::string& path) {
  std::vector<uint8_t> bytes = ReadBytes(path);
  if (IsGzip(bytes)) bytes = Gunzip(bytes, path);
  return ParseIdx(bytes, path);
}

}  // namespace hwnas
