// Writes a whole file under a temporary name and renames it into place, so a crash or a full
// disk never leaves half a file under the real name.
#pragma once

#include <string>

namespace hwnas {

// Throws IoError naming the path when the file cannot be written.
void WriteFileAtomically(const std::string& path, const std::string& contents);

}  // namespace hwnas
