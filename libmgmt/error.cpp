#include <aismi/error.hpp>

#include <array>
#include <cerrno>
#include <cstring>

namespace aismi {
namespace {

constexpr std::array kTable = {
#define AISMI_ROW(name, code) ErrcInfo{Errc::name, #name, "org.aismi.Error." #name, code},
    AISMI_ERRORS(AISMI_ROW)
#undef AISMI_ROW
};

}  // namespace

std::span<const ErrcInfo> errorTable() { return kTable; }

const ErrcInfo& errcInfo(Errc code) { return kTable[static_cast<size_t>(code)]; }

std::optional<Errc> errcFromDbusName(std::string_view dbusName) {
    for (const auto& row : kTable)
        if (row.dbusName == dbusName) return row.code;
    return std::nullopt;
}

Errc errcFromErrno(int err) {
    switch (err) {
    case EINVAL: return Errc::InvalidArgument;
    case ENOENT: return Errc::NotFound;
    case ENOTTY:
    case EOPNOTSUPP: return Errc::NotSupported;
    case EBUSY:
    case EAGAIN: return Errc::Busy;
    case ERANGE:
    case EOVERFLOW: return Errc::OutOfRange;
    case EACCES:
    case EPERM:
    case EROFS: return Errc::PermissionDenied;
    case ENODEV:
    case ENXIO: return Errc::DeviceLost;
    case ETIMEDOUT: return Errc::Timeout;
    case ENOSPC: return Errc::NoSpace;
    default: return Errc::IoError;
    }
}

Error Error::fromErrno(int err, std::string_view what) {
    std::string message(what);
    message += ": ";
    message += std::strerror(err);
    return Error{errcFromErrno(err), std::move(message), err};
}

Error Error::context(std::string_view where) const& { return Error(*this).context(where); }

Error Error::context(std::string_view where) && {
    // A lower layer that already named the same place said it first: once is enough.
    const bool said = message.size() > where.size() && message.compare(0, where.size(), where) == 0 && message[where.size()] == ':';
    if (!said) message.insert(0, std::string(where) + ": ");
    return std::move(*this);
}

}  // namespace aismi
