#include "known_card_repository.hpp"

#include "database.hpp"

namespace aismi {

Result<std::vector<KnownCard>> KnownCardRepository::load() {
    Statement st(db_, "SELECT idx, card_key, serial, address, name, vendor_id, device_id, generic FROM known_cards ORDER BY idx");
    std::vector<KnownCard> out;
    Statement::Step rc;
    while ((rc = st.step()) == Statement::Step::Row) {
        KnownCard c;
        c.index = static_cast<unsigned>(st.integer(0));
        c.key = st.text(1);
        c.serial = st.text(2);
        c.pciAddress = st.text(3);
        c.name = st.text(4);
        c.vendorId = static_cast<uint16_t>(st.integer(5));
        c.deviceId = static_cast<uint16_t>(st.integer(6));
        c.generic = st.integer(7) != 0;
        out.push_back(std::move(c));
    }
    if (rc != Statement::Step::Done) return db_.error("read the known cards");
    return out;
}

Result<void> KnownCardRepository::remember(const KnownCard& c) {
    // A key moves with its card: drop it from another index first (UNIQUE card_key).
    Statement drop(db_, "DELETE FROM known_cards WHERE card_key = ?1 AND idx != ?2");
    if (auto r = drop.bind(1, c.key).bind(2, static_cast<int64_t>(c.index)).run("remember card " + std::to_string(c.index)); !r) return r;
    Statement st(db_,
                 "INSERT INTO known_cards (idx, card_key, serial, address, name, vendor_id, device_id, generic) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (idx) DO UPDATE SET card_key = excluded.card_key, "
                 "serial = excluded.serial, address = excluded.address, name = excluded.name, "
                 "vendor_id = excluded.vendor_id, device_id = excluded.device_id, generic = excluded.generic");
    return st.bind(1, static_cast<int64_t>(c.index))
        .bind(2, c.key)
        .bind(3, c.serial)
        .bind(4, c.pciAddress)
        .bind(5, c.name)
        .bind(6, static_cast<int64_t>(c.vendorId))
        .bind(7, static_cast<int64_t>(c.deviceId))
        .bind(8, static_cast<int64_t>(c.generic ? 1 : 0))
        .run("remember card " + std::to_string(c.index));
}

}  // namespace aismi
