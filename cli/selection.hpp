// -i: choosing cards by index, PCI address (full or lspci's short form) or serial.
#pragma once

#include "client_api.hpp"

#include <aismi/error.hpp>

namespace aismi::cli {

/// The cards `ids` name, in the order given; all cards when `ids` is empty.
Result<std::vector<const BusObject*>> selectCards(const Inventory& inv, const std::vector<std::string>& ids);
/// The VFs of `cards`.
std::vector<const BusObject*> vfsOf(const Inventory& inv, const std::vector<const BusObject*>& cards);
/// For VF queries: each id names a card (all its VFs), a VF as CARD:VF, or a VF's PCI
/// address (full or short); all VFs when `ids` is empty.
Result<std::vector<const BusObject*>> selectVfs(const Inventory& inv, const std::vector<std::string>& ids);

}  // namespace aismi::cli
