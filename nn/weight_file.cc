#include "nn/weight_file.h"

#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.h"
#include "core/stable_hash.h"

namespace hwnas {

namespace {

constexpr std::string_view kMagic = "hwnas-weights";
constexpr int kVersion = 1;
static_assert(std::endian::native == std::endian::little, "weight files store little-endian floats");

std::string ShapeText(const std::vector<int>& shape) {
  std::string text;
  for (int d : shape) text += (text.empty() ? "" : "x") + std::to_string(d);
  return text.empty() ? "scalar" : text;
}

std::string Body(const std::vector<NamedParameter>& parameters) {
  std::string body = "parameters " + std::to_string(parameters.size()) + "\n";
  for (const auto& p : parameters) {
    body += p.name;
    for (int d : p.parameter->shape) body += " " + std::to_string(d);
    body += "\n";
  }
  for (const auto& p : parameters) {
    const auto& v = p.parameter->value;
    body.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  }
  return body;
}

}  // namespace

void SaveWeights(const std::string& path, const std::vector<NamedParameter>& parameters) {
  const std::string body = Body(parameters);
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << kMagic << " " << kVersion << "\nchecksum " << StableHashHex(body) << "\n" << body;
    if (!out.flush()) throw IoError(path + ": cannot write the weight file");
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) throw IoError(path + ": cannot write the weight file: " + error.message());
}

void LoadWeights(const std::string& path, const std::vector<NamedParameter>& parameters) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open the weight file");
  std::stringstream whole;
  whole << in.rdbuf();
  const std::string text = whole.str();
  auto fail = [&](const std::string& what) -> void { throw IoError(path + ": " + what); };

  const size_t first_end = text.find('\n');
  const size_t second_end = first_end == std::string::npos ? first_end : text.find('\n', first_end + 1);
  if (second_end == std::string::npos) fail("not an hwnas weight file (no header)");
  std::istringstream header(text.substr(0, second_end));
  std::string magic, checksum_word, checksum;
  int version = 0;
  header >> magic >> version >> checksum_word >> checksum;
  if (magic != kMagic || checksum_word != "checksum") fail("not an hwnas weight file");
  if (version != kVersion) {
    fail("weight file format version " + std::to_string(version) + ", this hwnas reads version " +
         std::to_string(kVersion));
  }
  const std::string_view body = std::string_view(text).substr(second_end + 1);
  if (StableHashHex(body) != checksum) fail("checksum mismatch: the file is truncated or corrupt");

  std::istringstream lines{std::string(body)};
  std::string word;
  size_t count = 0;
  lines >> word >> count;
  if (word != "parameters") fail("not an hwnas weight file (no parameter count)");
  if (count != parameters.size()) {
    fail("holds " + std::to_string(count) + " parameters, the network has " +
         std::to_string(parameters.size()));
  }
  lines.ignore(1);
  for (const auto& p : parameters) {
    std::string line;
    std::getline(lines, line);
    std::istringstream fields(line);
    std::string name;
    fields >> name;
    std::vector<int> shape;
    for (int d; fields >> d;) shape.push_back(d);
    if (name != p.name || shape != p.parameter->shape) {
      fail("parameter '" + name + "' has shape " + ShapeText(shape) + ", the network expects '" +
           p.name + "' with shape " + ShapeText(p.parameter->shape));
    }
  }
  // Values start where the name lines end.
  const size_t offset = static_cast<size_t>(lines.tellg());
  size_t expected = 0;
  for (const auto& p : parameters) expected += p.parameter->value.size() * sizeof(float);
  if (body.size() - offset != expected) {
    fail("holds " + std::to_string(body.size() - offset) + " bytes of values, the shapes need " +
         std::to_string(expected));
  }
  const char* values = body.data() + offset;
  for (const auto& p : parameters) {
    auto& v = p.parameter->value;
    std::memcpy(v.data(), values, v.size() * sizeof(float));
    values += v.size() * sizeof(float);
  }
}

}  // namespace hwnas
