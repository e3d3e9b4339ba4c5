// Two tiers of errors. HWNAS_CHECK aborts with file:line on a programmer bug. The exception
// family below is thrown at boundaries (config, files, database) and turned by the CLI into one
// line and a non-zero exit.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace hwnas {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad user configuration: YAML, flags, values out of range.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// A file that is missing, unreadable or malformed.
class IoError : public Error {
 public:
  using Error::Error;
};

// A database that cannot be opened, is foreign, or has another schema version.
class DatabaseError : public Error {
 public:
  using Error::Error;
};

// A computation that produced a non-finite value, such as a training that diverged.
class NumericalError : public Error {
 public:
  using Error::Error;
};

// A request the current build or device cannot serve.
class UnsupportedError : public Error {
 public:
  using Error::Error;
};

}  // namespace hwnas

#define HWNAS_CHECK(cond)                                                               \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: internal error: check failed: %s\n", __FILE__,       \
                   __LINE__, #cond);                                                    \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)
