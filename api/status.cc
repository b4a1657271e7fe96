#include "api/status.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace uvmemu {
namespace {

const char* ErrnoName(int error) {
  switch (error) {
    case EFAULT: return "EFAULT";
    case EACCES: return "EACCES";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    case E2BIG: return "E2BIG";
    default: return "errno";
  }
}

}  // namespace

absl::Status ErrnoStatus(int error, std::string_view what) {
  if (error == 0) return absl::OkStatus();
  const std::string message =
      absl::StrCat(std::string(what), ": ", ErrnoName(error), " (", std::strerror(error), ")");
  switch (error) {
    case EFAULT:
    case E2BIG:
      return absl::OutOfRangeError(message);
    case EACCES:
      return absl::PermissionDeniedError(message);
    case ENOMEM:
      return absl::ResourceExhaustedError(message);
    case EINVAL:
      return absl::InvalidArgumentError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace uvmemu
