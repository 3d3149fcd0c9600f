// The distributed-mode ColdStore: users, rooms, members and materialized notes in PostgreSQL.
#pragma once

#include <cstddef>
#include <string>

#include "store/cold_store.hpp"
#include "store/postgres/pg_connection.hpp"

namespace fun_notes::store {

class postgres_cold_store final : public cold_store {
 public:
  // Connects `pool_size` connections to `conninfo_url` (a libpq URL or key=value string) and
  // applies pending schema migrations; several servers may start at once. Throws store_error.
  explicit postgres_cold_store(const std::string& conninfo_url, std::size_t pool_size = 4);

  bool create_user(const user& u) override;
  std::optional<user> find_user_by_name(std::string_view name) override;
  std::optional<user> find_user(std::string_view user_id) override;
  std::optional<std::int64_t> set_password(std::string_view user_id,
                                           std::string_view password_hash) override;
  std::optional<std::int64_t> bump_token_version(std::string_view user_id) override;
  std::optional<std::vector<std::string>> delete_user(std::string_view user_id) override;

  void create_room(const room_meta& meta) override;
  std::optional<room_meta> find_room(std::string_view room_id) override;
  std::optional<std::pair<room_meta, role>> find_room_as(std::string_view room_id,
                                                         std::string_view user_id) override;
  void update_room(std::string_view room_id, const room_changes& changes) override;
  bool delete_room(std::string_view room_id) override;
  bool transfer_ownership(std::string_view room_id, std::string_view new_owner_id) override;
  std::vector<room_meta> public_rooms(std::size_t limit) override;
  void set_active_user_count(std::string_view room_id, std::int64_t count) override;
  std::vector<room_listing> rooms_of_user(std::string_view user_id) override;

  role role_of(std::string_view room_id, std::string_view user_id) override;
  void set_member(std::string_view room_id, std::string_view user_id, role r) override;
  bool remove_member(std::string_view room_id, std::string_view user_id) override;
  std::vector<member> members(std::string_view room_id) override;

  void create_invite(const invite& inv) override;
  std::optional<invite> find_invite(std::string_view token) override;
  bool delete_invite(std::string_view room_id, std::string_view token) override;
  accept_result accept_invite(std::string_view token, std::string_view user_id,
                              std::string_view now) override;

  std::optional<snapshot> load_snapshot(std::string_view room_id) override;
  std::vector<core::note> load_notes(std::string_view room_id,
                                     const std::vector<std::string>& ids) override;
  flush_outcome apply_flush(const flush_batch& batch) override;
  std::vector<trashed_note> trash(std::string_view room_id, std::string_view since,
                                  std::size_t limit) override;

  void record_gap(const room_gap& gap) override;
  std::vector<room_gap> gaps(std::string_view room_id) override;

  // Operator tools (cold_store.hpp's bulk block).
  std::vector<user> all_users() override;
  std::vector<room_meta> all_rooms() override;
  std::vector<invite> invites(std::string_view room_id) override;
  std::optional<std::string> find_secret(std::string_view name) override;
  user_import import_user(const user& u) override;
  bool import_room(const room_import& room, bool replace, const import_progress& progress) override;

  std::string get_or_create_secret(std::string_view name,
                                   const std::function<std::string()>& make) override;

 private:
  void migrate();
  // set_password (with a hash) and bump_token_version (without): the new version, or nullopt.
  std::optional<std::int64_t> next_token_version(std::string_view user_id,
                                                 const std::optional<std::string>& password_hash);

  // Blocking libpq calls, each on the calling worker thread with a connection of its own.
  pg::pool pool_;
};

}  // namespace fun_notes::store
