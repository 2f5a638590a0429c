// The one error vocabulary of aismi: every failure anywhere in the project is an Errc, and
// every Errc has a stable D-Bus error name and CLI exit code (see errorTable()).
#pragma once

#include <cassert>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace aismi {

// X(name, cli exit code). Names are part of the D-Bus API (org.aismi.Error.<Name>) and exit
// codes part of the CLI contract: append, never renumber or rename.
#define AISMI_ERRORS(X)      \
    X(InvalidArgument, 2)    \
    X(NotFound, 3)           \
    X(NotSupported, 4)       \
    X(Busy, 5)               \
    X(OutOfRange, 6)         \
    X(PermissionDenied, 7)   \
    X(DeviceLost, 8)         \
    X(Timeout, 9)            \
    X(IoError, 10)           \
    X(VerifyFailed, 11)      \
    X(ResetFailed, 12)       \
    X(InvalidState, 13)      \
    X(MalformedData, 14)     \
    X(ConfigInvalid, 15)     \
    X(StoreCorrupt, 16)      \
    X(StoreFailed, 17)       \
    X(ServiceUnavailable, 18) \
    X(NoSpace, 19)           \
    X(Internal, 20)          \
    X(Cancelled, 21)         \
    X(LibvirtFailed, 22)     \
    X(RolledBack, 23)        \
    X(HostUnreachable, 24)   \
    X(FileUnreadable, 25)

enum class Errc {
#define AISMI_ENUM(name, code) name,
    AISMI_ERRORS(AISMI_ENUM)
#undef AISMI_ENUM
};

struct ErrcInfo {
    Errc code;
    std::string_view name;  // "Busy"
    std::string_view dbusName;  // "org.aismi.Error.Busy"
    int exitCode;
};

/// Every error code with its stable names, in declaration order.
std::span<const ErrcInfo> errorTable();
const ErrcInfo& errcInfo(Errc code);
/// The code whose D-Bus name is `dbusName`, if it is one of ours.
std::optional<Errc> errcFromDbusName(std::string_view dbusName);
/// The code an errno from the kernel means for us (EBUSY -> Busy, ENODEV -> DeviceLost, ...).
Errc errcFromErrno(int err);

/// A failure: what went wrong (code), a sentence that names the device and the operation,
/// and the errno when the OS gave one.
struct Error {
    Errc code = Errc::Internal;
    std::string message;
    int sysErrno = 0;

    /// An error from a failed system call: message is "<what>: <strerror>".
    static Error fromErrno(int err, std::string_view what);

    /// Prefixes context while unwinding: "card 0" + "reset: ..." -> "card 0: reset: ..."; not
    /// again when the message already begins with it.
    [[nodiscard]] Error context(std::string_view where) const&;
    [[nodiscard]] Error context(std::string_view where) &&;
};

/// A value or an Error; the library's return type (nothing throws across module boundaries).
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(implicit)
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(implicit)

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { assert(ok()); return std::get<0>(v_); }
    const T& value() const& { assert(ok()); return std::get<0>(v_); }
    T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const Error& error() const& { assert(!ok()); return std::get<1>(v_); }
    Error&& error() && { assert(!ok()); return std::get<1>(std::move(v_)); }
    T valueOr(T fallback) const { return ok() ? value() : std::move(fallback); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : e_(std::move(error)) {}  // NOLINT(implicit)
    bool ok() const { return !e_.has_value(); }
    explicit operator bool() const { return ok(); }
    const Error& error() const& { assert(!ok()); return *e_; }
    Error&& error() && { assert(!ok()); return std::move(*e_); }

private:
    std::optional<Error> e_;
};

inline Error makeError(Errc code, std::string message) { return Error{code, std::move(message), 0}; }

}  // namespace aismi
