#include "firmware_repository.hpp"

#include "database.hpp"

namespace aismi {
namespace {

constexpr const char* kColumns = "id, job, card_key, kind, from_version, from_bank, to_version, to_bank, sha256, activate, state, reason, started, finished";

template <class E, size_t N>
std::optional<E> fromName(const std::string_view (&names)[N], std::string_view s) {
    for (size_t i = 0; i < N; ++i)
        if (names[i] == s) return static_cast<E>(i);
    return std::nullopt;
}

constexpr std::string_view kKinds[] = {"update", "activate", "rollback"};
constexpr std::string_view kActivations[] = {"now", "idle", "never"};
constexpr std::string_view kStates[] = {"writing", "staged", "activating", "committed", "rolled-back", "failed"};

FirmwareUpdate rowOf(Statement& st) {
    FirmwareUpdate u;
    u.id = st.integer(0);
    u.job = st.integer(1);
    u.cardKey = st.text(2);
    u.kind = fromName<FirmwareUpdate::Kind>(kKinds, st.text(3)).value_or(FirmwareUpdate::Kind::Update);
    u.fromVersion = st.text(4);
    u.fromBank = static_cast<unsigned>(st.integer(5));
    u.toVersion = st.text(6);
    u.toBank = static_cast<unsigned>(st.integer(7));
    u.sha256 = st.text(8);
    u.activate = fromName<FirmwareUpdate::Activation>(kActivations, st.text(9)).value_or(FirmwareUpdate::Activation::Idle);
    u.state = fromName<FirmwareUpdate::State>(kStates, st.text(10)).value_or(FirmwareUpdate::State::Failed);
    u.reason = st.text(11);
    u.started = st.integer(12);
    u.finished = st.integer(13);
    return u;
}

bool final(FirmwareUpdate::State s) {
    return s == FirmwareUpdate::State::Committed || s == FirmwareUpdate::State::RolledBack || s == FirmwareUpdate::State::Failed;
}

}  // namespace

std::string_view firmwareKindName(FirmwareUpdate::Kind k) { return kKinds[static_cast<size_t>(k)]; }
std::string_view activationName(FirmwareUpdate::Activation a) { return kActivations[static_cast<size_t>(a)]; }
std::optional<FirmwareUpdate::Activation> activationFromName(std::string_view s) { return fromName<FirmwareUpdate::Activation>(kActivations, s); }
std::string_view firmwareStateName(FirmwareUpdate::State s) { return kStates[static_cast<size_t>(s)]; }

Result<int64_t> FirmwareRepository::add(const FirmwareUpdate& u) {
    Statement st(db_,
                 "INSERT INTO firmware_updates (job, card_key, kind, from_version, from_bank, to_version, to_bank, sha256, activate, state, "
                 "reason, started, finished) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
    st.bind(1, u.job).bind(2, u.cardKey).bind(3, std::string(firmwareKindName(u.kind))).bind(4, u.fromVersion);
    st.bind(5, static_cast<int64_t>(u.fromBank)).bind(6, u.toVersion).bind(7, static_cast<int64_t>(u.toBank)).bind(8, u.sha256);
    st.bind(9, std::string(activationName(u.activate))).bind(10, std::string(firmwareStateName(u.state))).bind(11, u.reason);
    st.bind(12, u.started ? u.started : Database::now()).bind(13, u.finished);
    if (auto r = st.run("record a firmware " + std::string(firmwareKindName(u.kind)) + " of " + u.cardKey); !r) return std::move(r).error();
    return db_.lastInsertId();
}

Result<void> FirmwareRepository::set(int64_t id, FirmwareUpdate::State state, const std::string& reason) {
    Statement st(db_, "UPDATE firmware_updates SET state = ?2, reason = ?3, finished = ?4 WHERE id = ?1");
    st.bind(1, id).bind(2, std::string(firmwareStateName(state))).bind(3, reason).bind(4, final(state) ? Database::now() : int64_t{0});
    return st.run("record firmware update " + std::to_string(id) + " as " + std::string(firmwareStateName(state)));
}

Result<void> FirmwareRepository::setJob(int64_t id, int64_t job) {
    Statement st(db_, "UPDATE firmware_updates SET job = ?2 WHERE id = ?1");
    return st.bind(1, id).bind(2, job).run("record the job of firmware update " + std::to_string(id));
}

Result<std::optional<FirmwareUpdate>> FirmwareRepository::get(int64_t id) {
    Statement st(db_, (std::string("SELECT ") + kColumns + " FROM firmware_updates WHERE id = ?1").c_str());
    st.bind(1, id);
    switch (st.step()) {
    case Statement::Step::Done: return std::optional<FirmwareUpdate>();
    case Statement::Step::Row: return std::optional<FirmwareUpdate>(rowOf(st));
    default: return db_.error("read firmware update " + std::to_string(id));
    }
}

Result<std::vector<FirmwareUpdate>> FirmwareRepository::recent(const std::string& cardKey, unsigned limit) {
    Statement st(db_, (std::string("SELECT ") + kColumns + " FROM firmware_updates WHERE ?1 = '' OR card_key = ?1 ORDER BY id DESC LIMIT ?2").c_str());
    st.bind(1, cardKey).bind(2, static_cast<int64_t>(limit));
    std::vector<FirmwareUpdate> out;
    Statement::Step rc;
    while ((rc = st.step()) == Statement::Step::Row) out.push_back(rowOf(st));
    if (rc != Statement::Step::Done) return db_.error("read the firmware updates");
    return out;
}

Result<void> FirmwareRepository::supersede(const std::string& cardKey, int64_t keep, const std::string& reason) {
    Statement st(db_, "UPDATE firmware_updates SET state = 'failed', reason = ?3, finished = ?4 WHERE card_key = ?1 AND id != ?2 AND state = 'staged'");
    return st.bind(1, cardKey).bind(2, keep).bind(3, reason).bind(4, Database::now()).run("end the staged firmware updates of " + cardKey);
}

Result<std::optional<FirmwareUpdate>> FirmwareRepository::openFor(const std::string& cardKey) {
    Statement st(db_, (std::string("SELECT ") + kColumns + " FROM firmware_updates WHERE card_key = ?1 AND finished = 0 ORDER BY id DESC LIMIT 1").c_str());
    st.bind(1, cardKey);
    switch (st.step()) {
    case Statement::Step::Done: return std::optional<FirmwareUpdate>();
    case Statement::Step::Row: return std::optional<FirmwareUpdate>(rowOf(st));
    default: return db_.error("read the open firmware update of " + cardKey);
    }
}

}  // namespace aismi
