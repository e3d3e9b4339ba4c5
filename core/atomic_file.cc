#include "core/atomic_file.h"

#include <cstdio>
#include <fstream>

#include "core/errors.h"

namespace hwnas {

void WriteFileAtomically(const std::string& path, const std::string& contents) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << contents;
    out.flush();
    if (!out) {
      std::remove(temporary.c_str());
      throw IoError(path + ": cannot write the file");
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    throw IoError(path + ": cannot write the file");
  }
}

}  // namespace hwnas
