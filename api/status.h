// Kernel errno values as absl::Status at the public API boundary.
#ifndef UVMEMU_API_STATUS_H
#define UVMEMU_API_STATUS_H

#include <string_view>

#include "absl/status/status.h"

namespace uvmemu {

// 0 -> OK; EFAULT -> OutOfRange, EACCES -> PermissionDenied, ENOMEM ->
// ResourceExhausted, EINVAL -> InvalidArgument, E2BIG -> OutOfRange,
// others -> Internal.  The message names the errno and `what`.
absl::Status ErrnoStatus(int error, std::string_view what);

}  // namespace uvmemu

#endif  // UVMEMU_API_STATUS_H
