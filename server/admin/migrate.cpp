// migrate: users first (members and owners point at them), then each room, then the secret.
#include "admin/migrate.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <tuple>

#include "admin/room_archive.hpp"
#include "fun_notes/core/codec.hpp"

namespace fun_notes::server::admin {

namespace {

// The JWT signing secret's name in settings (app.cpp creates it under this name).
constexpr std::string_view jwt_secret_name = "jwt_secret";

// A room's content as both stores can report it, for "already there and the same?".
struct room_content {
  store::room_meta meta;
  std::vector<std::tuple<std::string, store::role>> members;
  std::string state;  // core::serialize_state
  std::vector<store::invite> invites;

  bool operator==(const room_content& o) const {
    return std::tie(meta.id, meta.name, meta.visibility, meta.public_role, meta.owner_id,
                    meta.last_seq, meta.created_at, members, state, invites) ==
           std::tie(o.meta.id, o.meta.name, o.meta.visibility, o.meta.public_role, o.meta.owner_id,
                    o.meta.last_seq, o.meta.created_at, o.members, o.state, o.invites);
  }
};

room_content content_of(const store::room_meta& meta, const std::vector<store::member>& members,
                        const std::vector<core::note>& notes,
                        const std::vector<store::invite>& invites) {
  room_content c;
  c.meta = meta;
  for (const auto& m : members) {
    c.members.emplace_back(m.user_id, m.member_role);
  }
  std::sort(c.members.begin(), c.members.end());
  c.state = core::serialize_state(core::room_state(meta.last_seq, notes));
  c.invites = invites;
  for (auto& i : c.invites) {
    i.room_id = meta.id;
  }
  return c;
}

}  // namespace

migrate_report migrate(store::cold_store& source, store::hot_log& source_log,
                       store::cold_store& target, const migrate_options& options,
                       std::ostream& log) {
  migrate_report report;

  const auto users = source.all_users();
  std::set<std::string, std::less<>> target_users;  // ids the target holds for our users
  for (std::size_t i = 0; i < users.size(); ++i) {
    const auto& u = users[i];
    switch (target.import_user(u)) {
      case store::user_import::created:
        ++report.users_created;
        target_users.insert(u.id);
        break;
      case store::user_import::exists:
        ++report.users_present;
        target_users.insert(u.id);
        break;
      case store::user_import::name_taken:
        report.problems.push_back(
            "user " + u.name + " (" + u.id +
            "): PostgreSQL has another account with this name (names are compared "
            "without case); not copied");
        break;
    }
    if ((i + 1) % 1000 == 0 || i + 1 == users.size()) {
      log << "migrate: users " << with_commas(i + 1) << "/" << with_commas(users.size()) << '\n';
    }
  }

  const auto rooms = source.all_rooms();
  for (std::size_t i = 0; i < rooms.size(); ++i) {
    const std::string& id = rooms[i].id;
    const std::string where =
        "migrate: room " + with_commas(i + 1) + "/" + with_commas(rooms.size()) + " " + id;
    auto archive = read_room(source, source_log, id);
    if (!archive) {
      continue;  // gone since the listing
    }
    if (!target_users.contains(archive->room.owner_id)) {
      report.problems.push_back("room " + id + ": its owner " + archive->owner_name +
                                " was not copied; room not copied");
      continue;
    }
    store::room_import data;
    data.meta = archive->room;
    for (const auto& m : archive->members) {
      if (target_users.contains(m.user_id)) {
        data.members.push_back(m);
      } else {
        report.problems.push_back("room " + id + ": member " + m.user_name +
                                  " was not copied; left out");
      }
    }
    data.notes = std::move(archive->notes);
    data.invites = source.invites(id);
    const room_content wanted = content_of(data.meta, data.members, data.notes, data.invites);

    bool replace = false;
    if (auto there = target.load_snapshot(id)) {
      const room_content held =
          content_of(there->meta, target.members(id), there->notes, target.invites(id));
      if (held == wanted) {
        ++report.rooms_unchanged;
        log << where << ": already in PostgreSQL at seq " << held.meta.last_seq << '\n';
        continue;
      }
      if (!options.replace) {
        report.problems.push_back(
            "room " + id + ": PostgreSQL holds it at seq " + std::to_string(there->meta.last_seq) +
            " in another state than the embedded seq " + std::to_string(data.meta.last_seq) +
            "; left alone (--replace overwrites it)");
        continue;
      }
      replace = true;
    }
    const std::size_t total = data.notes.size();
    target.import_room(data, replace, [&](std::size_t done) {
      if (total >= 5000) {
        log << where << ": " << with_commas(done) << "/" << with_commas(total) << " notes\n";
      }
    });
    ++(replace ? report.rooms_replaced : report.rooms_created);
    log << where << ": " << (replace ? "replaced" : "copied") << " at seq " << data.meta.last_seq
        << " (" << with_commas(total) << " notes, " << data.members.size() << " members)\n";
  }

  if (const auto secret = source.find_secret(jwt_secret_name)) {
    bool made = false;
    const std::string held = target.get_or_create_secret(jwt_secret_name, [&] {
      made = true;
      return *secret;
    });
    report.secret_copied = made;
    if (held != *secret) {
      report.problems.push_back(
          "PostgreSQL already has another JWT secret: tokens the embedded server issued are not "
          "valid there (users log in again), or give every server the old one with "
          "--jwt-secret-file");
    }
  } else {
    log << "migrate: the data dir holds no generated JWT secret (the server was given "
           "FUN_NOTES_JWT_SECRET or --jwt-secret-file): give the distributed servers the same "
           "one\n";
  }
  return report;
}

}  // namespace fun_notes::server::admin
