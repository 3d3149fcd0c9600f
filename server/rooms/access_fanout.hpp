// Access changes to every server: the room's channel tells the hubs (and so the open
// sockets), the stats channel tells the dashboards.
#pragma once

#include "access/room_access.hpp"
#include "store/bus.hpp"

namespace fun_notes::server::rooms {

class dashboard;

class access_fanout : public access::access_events {
 public:
  access_fanout(store::bus& bus, dashboard& board) : bus_(bus), dashboard_(board) {}

  void member_changed(const store::room_meta& meta, const std::string& user_id,
                      store::role member_role) override;
  void room_changed(const store::room_meta& meta) override;
  void room_deleted(const std::string& room_id) override;
  void user_revoked(const std::string& user_id, std::int64_t version) override;

 private:
  void publish_to_room(const std::string& room_id, std::string frame);

  store::bus& bus_;
  dashboard& dashboard_;
};

}  // namespace fun_notes::server::rooms
