// aismi vf list|enable|disable|reset|quarantine|unquarantine|bind|assign|release: a card's
// SR-IOV virtual functions, and one VF's resets, quarantine, driver and libvirt domain.
// (vf provision|unprovision: provisioning.hpp.)
#pragma once

#include "command.hpp"

#include <string>
#include <vector>

namespace aismi::cli {

struct VfListRequest {
    std::vector<std::string> ids;  // cards or VFs
    bool json = false;
    std::string domain;  // only that libvirt domain's VFs
};
/// vf enable (count > 0) and vf disable (count 0).
struct VfCountRequest {
    std::string card;
    unsigned count = 0;
    bool force = false;
};
/// A command on one VF, named as CARD:VF or by its PCI address.
struct VfRequest {
    std::string vf;
};
struct VfResetRequest : VfRequest {
    bool force = false;
};
struct VfQuarantineRequest : VfRequest {
    std::string reason;
};
struct VfBindRequest : VfRequest {
    std::string driver;  // vfio-pci or host
};
struct VfAssignRequest : VfRequest {
    std::string domain, tenant;
};

/// "VF 0:3 (0000:3b:00.4): profile quarter for tenant acme, ..." as the device reports it now.
Result<std::string> describeVf(DaemonClient& client, const std::string& path, const std::string& target);

CommandSet vfCommands();

}  // namespace aismi::cli
