// The in-memory ColdStore: plain maps under one mutex, mirroring the SQLite constraints.
#include "store/memory/memory_cold_store.hpp"

#include <algorithm>
#include <tuple>

namespace fun_notes::store {

namespace {

// The checks SQLite's constraints make, so code tested against this fake fails the same way.
void check_visibility(std::string_view visibility) {
  if (visibility != "private" && visibility != "link" && visibility != "public") {
    throw store_error("memory: invalid visibility '" + std::string(visibility) + "'");
  }
}

void check_public_role(role r) {
  if (r != role::viewer && r != role::editor) {
    throw store_error("memory: invalid public role '" + std::string(to_string(r)) + "'");
  }
}

void check_room(const room_meta& meta) {
  check_visibility(meta.visibility);
  check_public_role(meta.public_role);
}

// Erases `key` from one of a room record's maps; false when it was not there.
template <class Map>
bool erase_key(Map& map, std::string_view key) {
  auto it = map.find(key);
  if (it == map.end()) {
    return false;
  }
  map.erase(it);
  return true;
}

// The key of user_by_name_: names are ASCII, so folding A-Z is all "without case" takes.
std::string folded(std::string_view name) {
  std::string key(name);
  for (char& c : key) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return key;
}

}  // namespace

bool memory_cold_store::create_user(const user& u) {
  std::lock_guard lock(mutex_);
  if (user_by_name_.contains(folded(u.name))) {
    return false;
  }
  if (users_.contains(u.id)) {
    throw store_error("memory: duplicate user id '" + u.id + "'");
  }
  users_.emplace(u.id, u);
  user_by_name_.emplace(folded(u.name), u.id);
  return true;
}

std::optional<user> memory_cold_store::find_user_by_name(std::string_view name) {
  std::lock_guard lock(mutex_);
  auto it = user_by_name_.find(folded(name));
  if (it == user_by_name_.end()) {
    return std::nullopt;
  }
  return users_.at(it->second);
}

std::optional<user> memory_cold_store::find_user(std::string_view user_id) {
  std::lock_guard lock(mutex_);
  auto it = users_.find(user_id);
  if (it == users_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::optional<std::int64_t> memory_cold_store::set_password(std::string_view user_id,
                                                            std::string_view password_hash) {
  return next_token_version(user_id, password_hash);
}

std::optional<std::int64_t> memory_cold_store::bump_token_version(std::string_view user_id) {
  return next_token_version(user_id, std::nullopt);
}

std::optional<std::int64_t> memory_cold_store::next_token_version(
    std::string_view user_id, std::optional<std::string_view> password_hash) {
  std::lock_guard lock(mutex_);
  auto it = users_.find(user_id);
  if (it == users_.end()) {
    return std::nullopt;
  }
  if (password_hash) {
    it->second.password_hash = *password_hash;
  }
  return ++it->second.token_version;
}

std::optional<std::vector<std::string>> memory_cold_store::delete_user(std::string_view user_id) {
  std::lock_guard lock(mutex_);
  auto u = users_.find(user_id);
  if (u == users_.end()) {
    return std::nullopt;
  }
  // rooms_ is ordered by id, so the ids come out sorted.
  std::vector<std::string> deleted;
  for (auto it = rooms_.begin(); it != rooms_.end();) {
    if (it->second.meta.owner_id == user_id) {
      deleted.push_back(it->first);
      it = rooms_.erase(it);  // its members, notes and invites live in the record
    } else {
      erase_key(it->second.members, user_id);
      ++it;
    }
  }
  std::erase_if(gaps_, [&](const room_gap& g) {
    return std::binary_search(deleted.begin(), deleted.end(), g.room_id);
  });
  user_by_name_.erase(folded(u->second.name));
  users_.erase(u);
  return deleted;
}

void memory_cold_store::create_room(const room_meta& meta) {
  std::lock_guard lock(mutex_);
  check_room(meta);
  if (rooms_.contains(meta.id)) {
    throw store_error("memory: duplicate room id '" + meta.id + "'");
  }
  if (!users_.contains(meta.owner_id)) {
    throw store_error("memory: unknown owner '" + meta.owner_id + "'");
  }
  room_record record{meta, {}, {}, {}};
  record.members.emplace(meta.owner_id, role::owner);
  rooms_.emplace(meta.id, std::move(record));
}

std::optional<room_meta> memory_cold_store::find_room(std::string_view room_id) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) {
    return std::nullopt;
  }
  return it->second.meta;
}

void memory_cold_store::set_active_user_count(std::string_view room_id, std::int64_t count) {
  std::lock_guard lock(mutex_);
  if (auto it = rooms_.find(room_id); it != rooms_.end()) {
    it->second.meta.active_user_count = count;
  }
}

void memory_cold_store::update_room(std::string_view room_id, const room_changes& changes) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) {
    return;
  }
  if (changes.visibility) {
    check_visibility(*changes.visibility);
  }
  if (changes.public_role) {
    check_public_role(*changes.public_role);
  }
  auto& meta = it->second.meta;
  meta.name = changes.name.value_or(meta.name);
  meta.visibility = changes.visibility.value_or(meta.visibility);
  meta.public_role = changes.public_role.value_or(meta.public_role);
}

bool memory_cold_store::delete_room(std::string_view room_id) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) {
    return false;
  }
  rooms_.erase(it);  // its members, notes and invites live in the record
  std::erase_if(gaps_, [&](const room_gap& g) { return g.room_id == room_id; });
  return true;
}

bool memory_cold_store::transfer_ownership(std::string_view room_id,
                                           std::string_view new_owner_id) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) {
    return false;
  }
  if (!users_.contains(new_owner_id)) {
    throw store_error("memory: unknown user '" + std::string(new_owner_id) + "'");
  }
  auto& record = it->second;
  if (record.meta.owner_id != new_owner_id) {
    record.members.insert_or_assign(record.meta.owner_id, role::editor);
  }
  record.members.insert_or_assign(std::string(new_owner_id), role::owner);
  record.meta.owner_id = new_owner_id;
  return true;
}

std::vector<room_meta> memory_cold_store::public_rooms(std::size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<room_meta> result;
  for (const auto& [id, record] : rooms_) {
    if (record.meta.visibility == "public") {
      result.push_back(record.meta);
    }
  }
  std::sort(result.begin(), result.end(), [](const room_meta& a, const room_meta& b) {
    // Descending count: b's count on the left.
    return std::tie(b.active_user_count, a.name, a.id) <
           std::tie(a.active_user_count, b.name, b.id);
  });
  result.resize(std::min(limit, result.size()));
  return result;
}

std::vector<room_listing> memory_cold_store::rooms_of_user(std::string_view user_id) {
  std::lock_guard lock(mutex_);
  std::vector<room_listing> result;
  for (const auto& [id, record] : rooms_) {
    if (auto m = record.members.find(user_id); m != record.members.end()) {
      result.push_back(room_listing{record.meta, m->second});
    }
  }
  std::sort(result.begin(), result.end(), [](const room_listing& a, const room_listing& b) {
    return std::tie(a.meta.name, a.meta.id) < std::tie(b.meta.name, b.meta.id);
  });
  return result;
}

role memory_cold_store::role_of(std::string_view room_id, std::string_view user_id) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) {
    return role::none;
  }
  auto m = it->second.members.find(user_id);
  return m == it->second.members.end() ? role::none : m->second;
}

void memory_cold_store::set_member(std::string_view room_id, std::string_view user_id, role r) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room_id);
  if (r == role::none) {
    if (it != rooms_.end()) {
      if (auto m = it->second.members.find(user_id); m != it->second.members.end()) {
        it->second.members.erase(m);
      }
    }
    return;
  }
  if (it == rooms_.end()) {
    throw store_error("memory: unknown room '" + std::string(room_id) + "'");
  }
  if (!users_.contains(user_id)) {
    throw store_error("memory: unknown user '" + std::string(user_id) + "'");
  }
  it->second.members.insert_or_assign(std::string(user_id), r);
}

bool memory_cold_store::remove_member(std::string_view room_id, std::string_view user_id) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room_id);
  return it != rooms_.end() && erase_key(it->second.members, user_id);
}

std::vector<member> memory_cold_store::members(std::string_view room_id) {
  std::lock_guard lock(mutex_);
  std::vector<member> result;
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) {
    return result;
  }
  for (const auto& [user_id, r] : it->second.members) {
    result.push_back(member{user_id, users_.at(user_id).name, r});
  }
  std::sort(result.begin(), result.end(), [](const member& a, const member& b) {
    return std::tie(a.user_name, a.user_id) < std::tie(b.user_name, b.user_id);
  });
  return result;
}

invite* memory_cold_store::find_invite_locked(std::string_view token) {
  for (auto& [id, record] : rooms_) {
    if (auto i = record.invites.find(token); i != record.invites.end()) {
      return &i->second;
    }
  }
  return nullptr;
}

void memory_cold_store::create_invite(const invite& inv) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(inv.room_id);
  if (it == rooms_.end()) {
    throw store_error("memory: unknown room '" + inv.room_id + "'");
  }
  if (inv.invite_role == role::none) {
    throw store_error("memory: an invite needs a role");
  }
  // Tokens are unique across rooms, as the SQL primary key makes them.
  if (find_invite_locked(inv.token) != nullptr) {
    throw store_error("memory: duplicate invite token");
  }
  it->second.invites.emplace(inv.token, inv);
}

std::optional<invite> memory_cold_store::find_invite(std::string_view token) {
  std::lock_guard lock(mutex_);
  if (const invite* i = find_invite_locked(token)) {
    return *i;
  }
  return std::nullopt;
}

bool memory_cold_store::delete_invite(std::string_view room_id, std::string_view token) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room_id);
  return it != rooms_.end() && erase_key(it->second.invites, token);
}

accept_result memory_cold_store::accept_invite(std::string_view token, std::string_view user_id,
                                               std::string_view now) {
  std::lock_guard lock(mutex_);
  invite* inv = find_invite_locked(token);
  if (inv == nullptr) {
    return accept_result{};
  }
  auto& members = rooms_.at(inv->room_id).members;
  const auto m = members.find(user_id);
  const role current = m == members.end() ? role::none : m->second;
  const accept_outcome outcome = accept_outcome_for(*inv, current, now);
  if (outcome != accept_outcome::accepted) {
    return accept_result{outcome, inv->room_id, current};
  }
  if (!users_.contains(user_id)) {
    throw store_error("memory: unknown user '" + std::string(user_id) + "'");
  }
  members.insert_or_assign(std::string(user_id), inv->invite_role);
  ++inv->uses;
  return accept_result{outcome, inv->room_id, inv->invite_role};
}

std::optional<snapshot> memory_cold_store::load_snapshot(std::string_view room_id) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) {
    return std::nullopt;
  }
  snapshot result{it->second.meta, {}};
  for (const auto& [id, n] : it->second.notes) {
    result.notes.push_back(n);
  }
  std::sort(result.notes.begin(), result.notes.end(), core::display_less);
  return result;
}

std::vector<core::note> memory_cold_store::load_notes(std::string_view room_id,
                                                      const std::vector<std::string>& ids) {
  std::lock_guard lock(mutex_);
  std::vector<core::note> result;
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) {
    return result;
  }
  for (const auto& id : ids) {
    if (auto n = it->second.notes.find(id); n != it->second.notes.end()) {
      result.push_back(n->second);
    }
  }
  std::sort(result.begin(), result.end(), core::display_less);
  return result;
}

flush_outcome memory_cold_store::apply_flush(const flush_batch& batch) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(batch.room_id);
  if (it == rooms_.end() || it->second.meta.last_seq != batch.expected_last_seq) {
    return flush_outcome::stale;
  }
  auto& record = it->second;
  for (const auto& n : batch.upserts) {
    record.notes.insert_or_assign(n.id, n);
  }
  for (const auto& id : batch.deletes) {
    if (auto n = record.notes.find(id); n != record.notes.end()) {
      record.notes.erase(n);
    }
  }
  for (const auto& id : batch.untrashed) {
    record.trash.erase(id);
  }
  for (const auto& t : batch.trashed) {
    record.trash.insert_or_assign(t.note.id, t);
  }
  if (!batch.trash_cutoff.empty()) {
    std::erase_if(record.trash,
                  [&](const auto& entry) { return entry.second.deleted_at < batch.trash_cutoff; });
  }
  record.meta.last_seq = batch.new_last_seq;
  record.meta.total_notes = static_cast<std::int64_t>(record.notes.size());
  return flush_outcome::applied;
}

std::vector<trashed_note> memory_cold_store::trash(std::string_view room_id, std::string_view since,
                                                   std::size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<trashed_note> out;
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) {
    return out;
  }
  for (const auto& [_, t] : it->second.trash) {
    if (t.deleted_at >= since) {
      out.push_back(t);
    }
  }
  std::sort(out.begin(), out.end(), [](const trashed_note& a, const trashed_note& b) {
    return a.deleted_seq > b.deleted_seq;
  });
  if (out.size() > limit) {
    out.resize(limit);
  }
  return out;
}

void memory_cold_store::record_gap(const room_gap& gap) {
  std::lock_guard lock(mutex_);
  gaps_.push_back(gap);
  gaps_.back().recorded_at = "1970-01-01T00:00:00Z";
}

std::vector<room_gap> memory_cold_store::gaps(std::string_view room_id) {
  std::lock_guard lock(mutex_);
  std::vector<room_gap> out;
  for (const auto& g : gaps_) {
    if (g.room_id == room_id) {
      out.push_back(g);
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const room_gap& a, const room_gap& b) { return a.from_seq < b.from_seq; });
  return out;
}

// ---- Operator tools.

std::vector<user> memory_cold_store::all_users() {
  std::lock_guard lock(mutex_);
  std::vector<user> result;
  for (const auto& [id, u] : users_) {
    result.push_back(u);
  }
  return result;
}

std::vector<room_meta> memory_cold_store::all_rooms() {
  std::lock_guard lock(mutex_);
  std::vector<room_meta> result;
  for (const auto& [id, record] : rooms_) {
    result.push_back(record.meta);
  }
  return result;
}

std::vector<invite> memory_cold_store::invites(std::string_view room_id) {
  std::lock_guard lock(mutex_);
  std::vector<invite> result;
  if (auto it = rooms_.find(room_id); it != rooms_.end()) {
    for (const auto& [token, i] : it->second.invites) {
      result.push_back(i);
    }
  }
  return result;
}

std::optional<std::string> memory_cold_store::find_secret(std::string_view name) {
  std::lock_guard lock(mutex_);
  if (auto it = secrets_.find(name); it != secrets_.end()) {
    return it->second;
  }
  return std::nullopt;
}

user_import memory_cold_store::import_user(const user& u) {
  std::lock_guard lock(mutex_);
  if (users_.contains(u.id)) {
    return user_import::exists;
  }
  if (user_by_name_.contains(folded(u.name))) {
    return user_import::name_taken;
  }
  users_.emplace(u.id, u);
  user_by_name_.emplace(folded(u.name), u.id);
  return user_import::created;
}

bool memory_cold_store::import_room(const room_import& room, bool replace,
                                    const import_progress& progress) {
  std::lock_guard lock(mutex_);
  check_room(room.meta);
  if (rooms_.contains(room.meta.id) && !replace) {
    return false;
  }
  // Everything is checked before anything changes, as one SQL transaction would roll back.
  if (!users_.contains(room.meta.owner_id)) {
    throw store_error("memory: unknown owner '" + room.meta.owner_id + "'");
  }
  room_record record{room.meta, {}, {}, {}};
  for (const auto& m : room.members) {
    if (!users_.contains(m.user_id)) {
      throw store_error("memory: unknown user '" + m.user_id + "'");
    }
    if (m.member_role != role::none) {
      record.members.insert_or_assign(m.user_id, m.member_role);
    }
  }
  record.members.insert_or_assign(room.meta.owner_id, role::owner);
  std::size_t written = 0;
  for (const auto& n : room.notes) {
    record.notes.insert_or_assign(n.id, n);
    // The same cadence as the SQL adapters, so callers see progress from every store.
    if (++written % 5000 == 0 && progress) {
      progress(written);
    }
  }
  for (const auto& i : room.invites) {
    invite stored = i;
    stored.room_id = room.meta.id;
    record.invites.insert_or_assign(i.token, std::move(stored));
  }
  record.meta.total_notes = static_cast<std::int64_t>(record.notes.size());
  rooms_.insert_or_assign(room.meta.id, std::move(record));
  if (progress) {
    progress(written);
  }
  return true;
}

std::string memory_cold_store::get_or_create_secret(std::string_view name,
                                                    const std::function<std::string()>& make) {
  std::lock_guard lock(mutex_);
  if (auto it = secrets_.find(name); it != secrets_.end()) {
    return it->second;
  }
  return secrets_.emplace(std::string(name), make()).first->second;
}

}  // namespace fun_notes::store
