// Layouts declared in files, for fleet tooling (Ansible, Puppet, a GitOps agent push the same
// files to many hosts): layouts.d/*.conf sections name the cards they apply to (by serial,
// PCI address or vendor:device) and a layout. aismid applies them at start and on SIGHUP,
// through LayoutService (so a layout that would destroy a VF in use is refused, never
// forced), and reports conflicts (two sections claiming one card) and refusals as the card's
// health reasons and events. Format: docs/partitioning.md.
#pragma once

#include "service.hpp"

#include <aismi/card.hpp>
#include <aismi/error.hpp>
#include <aismi/pci_address.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace aismi {

class EventBus;
class Inventory;
class LayoutService;
struct CardInfo;
struct CardSnapshot;

struct DeclaredLayout {
    std::string name;
    std::string origin;  // "FILE line N"
    std::vector<std::string> serials;
    std::vector<PciAddress> addresses;
    std::vector<DeviceMatch> devices;
    std::string layout;
    bool matches(const CardInfo& card) const;
};

/// One layouts.d file; `what` names it in errors. Every layout is checked for syntax.
Result<std::vector<DeclaredLayout>> parseDeclaredLayouts(std::string_view content, const std::string& what);
/// Every dir/*.conf in name order; a missing directory declares none.
Result<std::vector<DeclaredLayout>> loadDeclaredLayouts(const std::string& dir);

class DeclaredLayouts : public Service {
public:
    DeclaredLayouts(Inventory& inventory, LayoutService& layouts, EventBus& events) : inventory_(inventory), layouts_(layouts), events_(events) {}

    /// Takes a new set of declarations (start, SIGHUP) and applies them to the cards.
    void set(std::vector<DeclaredLayout> declared);
    /// Applies each card's declared layout unless the card already has it; a card claimed by
    /// two sections gets neither. Loop thread.
    void applyAll();
    /// Adds the card's layout problems to a fresh snapshot (a Poller annotator).
    void annotate(CardSnapshot& card) override;
    /// The declarations of layouts.d, read again and applied.
    void reload(const DaemonConfig& config) override;

private:
    Inventory& inventory_;
    LayoutService& layouts_;
    EventBus& events_;
    std::vector<DeclaredLayout> declared_;
    std::map<std::string, std::string> problems_;  // card key -> what is wrong with its declared layout
};

}  // namespace aismi
