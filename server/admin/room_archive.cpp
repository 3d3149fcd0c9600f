// The room file: reading a room at its latest seq, its JSON form, and writing it back.
#include "admin/room_archive.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <limits>
#include <tuple>
#include <unordered_set>
#include <utility>

#include "fun_notes/core/codec.hpp"
#include "rooms/room_loader.hpp"

namespace fun_notes::server::admin {

namespace json = boost::json;

namespace {

// Every this many notes a big room reports progress.
constexpr std::size_t progress_every = 5000;

core::result<std::string> get_string(const json::object& o, std::string_view where,
                                     std::string_view field) {
  const auto* v = o.if_contains(field);
  if (v == nullptr || !v->is_string()) {
    return core::invalid(std::string(where) + "." + std::string(field) + " must be a string");
  }
  return std::string(v->get_string());
}

core::result<std::int64_t> get_int(const json::object& o, std::string_view where,
                                   std::string_view field) {
  const auto* v = o.if_contains(field);
  if (v == nullptr || !v->is_int64() || v->get_int64() < 0) {
    return core::invalid(std::string(where) + "." + std::string(field) +
                         " must be a non-negative integer");
  }
  return v->get_int64();
}

core::result<const json::object*> get_object(const json::object& o, std::string_view where,
                                             std::string_view field) {
  const auto* v = o.if_contains(field);
  if (v == nullptr || !v->is_object()) {
    return core::invalid(std::string(where) + "." + std::string(field) + " must be an object");
  }
  return &v->get_object();
}

core::result<const json::array*> get_array(const json::object& o, std::string_view field) {
  const auto* v = o.if_contains(field);
  if (v == nullptr || !v->is_array()) {
    return core::invalid(std::string(field) + " must be an array");
  }
  return &v->get_array();
}

core::result<store::member> parse_member(const json::value& v, std::size_t index) {
  const std::string where = "members[" + std::to_string(index) + "]";
  if (!v.is_object()) {
    return core::invalid(where + " must be an object");
  }
  const auto& o = v.get_object();
  auto id = get_string(o, where, "user_id");
  auto name = get_string(o, where, "username");
  auto role_text = get_string(o, where, "role");
  for (const auto* r : {&id, &name, &role_text}) {
    if (!*r) {
      return r->err();
    }
  }
  const auto role = store::parse_role(*role_text);
  if (!role) {
    return core::invalid(where + ".role must be viewer, editor or owner");
  }
  return store::member{*id, *name, *role};
}

std::string describe(const store::member& m) {
  return m.user_name + " (" + m.user_id + ")";
}

// The account here that stands for `m`: the same id (the same instance, or one migrated from
// it), else the same username (another instance, where ids differ).
std::optional<store::user> resolve_user(store::cold_store& cold, const store::member& m) {
  if (auto u = cold.find_user(m.user_id)) {
    return u;
  }
  return cold.find_user_by_name(m.user_name);
}

}  // namespace

std::string with_commas(std::size_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) {
      out.push_back(',');
    }
    out.push_back(digits[i]);
  }
  return out;
}

std::optional<room_archive> read_room(store::cold_store& cold, store::hot_log& hot,
                                      std::string_view room_id) {
  auto loaded = rooms::load_room(cold, hot, room_id);
  if (!loaded) {
    return std::nullopt;
  }
  room_archive out;
  out.room = std::move(loaded->meta);
  out.room.last_seq = loaded->state.seq();
  out.notes = loaded->state.sorted_notes();
  out.room.total_notes = static_cast<std::int64_t>(out.notes.size());
  out.members = cold.members(room_id);
  for (const auto& m : out.members) {
    if (m.user_id == out.room.owner_id) {
      out.owner_name = m.user_name;
    }
  }
  if (out.owner_name.empty()) {
    if (auto owner = cold.find_user(out.room.owner_id)) {
      out.owner_name = owner->name;
    }
  }
  return out;
}

std::string serialize_archive(const room_archive& archive, const progress_fn& progress) {
  const auto& r = archive.room;
  json::object room{{"id", r.id}, {"name", r.name}, {"visibility", r.visibility}};
  // Only where it says something: the file of a room that is not public and gives viewers
  // stays as older builds wrote it, and they can still import it.
  if (r.visibility == "public" || r.public_role != store::role::viewer) {
    room.emplace("public_role", store::to_string(r.public_role));
  }
  room.emplace("owner", json::object{{"user_id", r.owner_id}, {"username", archive.owner_name}});
  room.emplace("created_at", r.created_at);
  json::array members;
  for (const auto& m : archive.members) {
    members.push_back(json::object{{"user_id", m.user_id},
                                   {"username", m.user_name},
                                   {"role", store::to_string(m.member_role)}});
  }
  // Boost.JSON keeps members in insertion order and prints doubles in their shortest
  // round-trip form, so one state always gives the same bytes.
  std::string out = R"({"format":")" + std::string(archive_format) + R"(","version":)" +
                    std::to_string(archive_version) + ",\n\"room\":" + json::serialize(room) +
                    ",\n\"last_seq\":" + std::to_string(r.last_seq) +
                    ",\n\"members\":" + json::serialize(members) + ",\n\"notes\":[";
  const std::size_t total = archive.notes.size();
  for (std::size_t i = 0; i < total; ++i) {
    out += i == 0 ? "\n" : ",\n";
    out += json::serialize(core::to_json(archive.notes[i]));
    if (progress && (i + 1) % progress_every == 0) {
      progress(i + 1, total);
    }
  }
  out += "\n]}\n";
  if (progress) {
    progress(total, total);
  }
  return out;
}

core::result<room_archive> parse_archive(std::string_view text) {
  auto doc = core::parse_json(text);
  if (!doc) {
    return core::invalid("not a JSON document: " + doc.err().message);
  }
  if (!doc->is_object()) {
    return core::invalid("the file must hold one JSON object");
  }
  const auto& top = doc->get_object();
  auto format = get_string(top, "file", "format");
  if (!format || *format != archive_format) {
    return core::invalid("not a fun-notes room file (format must be \"" +
                         std::string(archive_format) + "\")");
  }
  auto version = get_int(top, "file", "version");
  if (!version || *version != archive_version) {
    return core::invalid("unsupported version: this build reads version " +
                         std::to_string(archive_version));
  }
  room_archive out;
  auto room = get_object(top, "file", "room");
  if (!room) {
    return room.err();
  }
  auto id = get_string(**room, "room", "id");
  auto name = get_string(**room, "room", "name");
  auto visibility = get_string(**room, "room", "visibility");
  auto created_at = get_string(**room, "room", "created_at");
  for (const auto* f : {&id, &name, &visibility, &created_at}) {
    if (!*f) {
      return f->err();
    }
  }
  if (!core::valid_id(*id)) {
    return core::invalid("room.id must be 1-64 characters of [A-Za-z0-9_-]");
  }
  if (*visibility != "private" && *visibility != "link" && *visibility != "public") {
    return core::invalid("room.visibility must be private, link or public");
  }
  // Absent in files written before rooms could be public: viewer, the default.
  auto public_role = store::role::viewer;
  if ((*room)->contains("public_role")) {
    auto text = get_string(**room, "room", "public_role");
    if (!text) {
      return text.err();
    }
    const auto parsed = store::parse_role(*text);
    if (parsed != store::role::viewer && parsed != store::role::editor) {
      return core::invalid("room.public_role must be viewer or editor");
    }
    public_role = *parsed;
  }
  auto owner = get_object(**room, "room", "owner");
  if (!owner) {
    return owner.err();
  }
  auto owner_id = get_string(**owner, "room.owner", "user_id");
  auto owner_name = get_string(**owner, "room.owner", "username");
  if (!owner_id || !owner_name) {
    return (!owner_id ? owner_id : owner_name).err();
  }
  auto last_seq = get_int(top, "file", "last_seq");
  if (!last_seq) {
    return last_seq.err();
  }
  out.room.id = *id;
  out.room.name = *name;
  out.room.visibility = *visibility;
  out.room.public_role = public_role;
  out.room.created_at = *created_at;
  out.room.owner_id = *owner_id;
  out.owner_name = *owner_name;
  out.room.last_seq = *last_seq;

  auto members = get_array(top, "members");
  if (!members) {
    return members.err();
  }
  for (std::size_t i = 0; i < (*members)->size(); ++i) {
    auto m = parse_member((**members)[i], i);
    if (!m) {
      return m.err();
    }
    out.members.push_back(std::move(*m));
  }
  auto notes = get_array(top, "notes");
  if (!notes) {
    return notes.err();
  }
  out.notes.reserve((*notes)->size());
  std::unordered_set<std::string> ids;
  for (std::size_t i = 0; i < (*notes)->size(); ++i) {
    auto n = core::parse_note((**notes)[i]);
    if (!n) {
      return core::invalid("notes[" + std::to_string(i) + "]: " + n.err().message);
    }
    if (n->seq > out.room.last_seq) {
      return core::invalid("notes[" + std::to_string(i) + "] has seq " + std::to_string(n->seq) +
                           ", past the room's last_seq " + std::to_string(out.room.last_seq));
    }
    // Checked here, not after the sort: two copies of an id with different indexes would not
    // end up side by side.
    if (!ids.insert(n->id).second) {
      return core::invalid("note id " + n->id + " appears twice");
    }
    out.notes.push_back(std::move(*n));
  }
  std::sort(out.notes.begin(), out.notes.end(), core::display_less);
  out.room.total_notes = static_cast<std::int64_t>(out.notes.size());
  return out;
}

core::result<import_report> import_room(store::cold_store& cold, store::hot_log& hot,
                                        const room_archive& archive, const import_options& options,
                                        const progress_fn& progress) {
  const auto& id = archive.room.id;
  const auto existing = cold.find_room(id);
  if (existing && !options.replace) {
    return core::error{"exists",
                       "room " + id + " already exists here: pass --replace to overwrite it"};
  }
  const store::member owner_entry{archive.room.owner_id, archive.owner_name, store::role::owner};
  const auto owner = resolve_user(cold, owner_entry);
  if (!owner) {
    return core::error{"owner_missing", "the room's owner " + describe(owner_entry) +
                                            " has no account here: create it, then import again"};
  }
  import_report report;
  store::room_import data;
  data.meta = archive.room;
  data.meta.owner_id = owner->id;
  for (const auto& m : archive.members) {
    if (m.user_id == archive.room.owner_id) {
      continue;
    }
    const auto u = resolve_user(cold, m);
    if (!u) {
      report.missing_users.push_back(describe(m));
      continue;
    }
    if (u->id != owner->id) {
      data.members.push_back(store::member{u->id, u->name, m.member_role});
    }
  }
  data.notes = archive.notes;
  // Never hand out a seq twice: a room replaced here, or one the log still remembers, numbers
  // on above what was there before. A replacement also takes a seq of its own, above every
  // seq the old room had: a client that held the old room at any seq then gets a snapshot of
  // the new content instead of resuming past it.
  std::int64_t floor = hot.read_after(id, std::numeric_limits<std::int64_t>::max()).head_seq;
  if (existing) {
    floor = std::max(floor, existing->last_seq);
  }
  data.meta.last_seq =
      existing || floor > 0 ? std::max(archive.room.last_seq, floor) + 1 : archive.room.last_seq;
  const std::size_t total = data.notes.size();
  const bool written = cold.import_room(data, options.replace, [&](std::size_t done) {
    if (progress) {
      progress(done, total);
    }
  });
  if (!written) {
    return core::error{"exists",
                       "room " + id + " already exists here: pass --replace to overwrite it"};
  }
  if (existing || floor > 0) {
    // The old room's logged ops are not this room's history: nobody may resume across them.
    const std::int64_t head = hot.read_after(id, std::numeric_limits<std::int64_t>::max()).head_seq;
    if (!hot.reset_room(id, head, data.meta.last_seq)) {
      hot.ensure_room(id, data.meta.last_seq);
    }
  } else {
    hot.ensure_room(id, data.meta.last_seq);
  }
  report.last_seq = data.meta.last_seq;
  report.members = data.members.size() + 1;
  report.replaced = existing.has_value();
  return report;
}

}  // namespace fun_notes::server::admin
