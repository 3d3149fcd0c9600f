// The small helpers the port headers declare, shared by every adapter.
#include <algorithm>
#include <string>
#include <string_view>

#include "store/bus.hpp"
#include "store/cold_store.hpp"
#include "store/hot_log.hpp"
#include "store/throttle_store.hpp"

namespace fun_notes::store {

void hot_log::append(append_request request, append_handler done) {
  if (!observer_) {
    do_append(std::move(request), std::move(done));
    return;
  }
  std::string room_id = request.room_id;
  do_append(std::move(request), [this, room_id = std::move(room_id),
                                 done = std::move(done)](core::result<append_result> r) {
    if (r) {
      observer_(room_id, r->entry.seq, r->persisted_seq);
    }
    done(std::move(r));
  });
}

std::string_view to_string(role r) {
  switch (r) {
    case role::viewer:
      return "viewer";
    case role::editor:
      return "editor";
    case role::owner:
      return "owner";
    case role::none:
      break;
  }
  return "none";
}

std::optional<role> parse_role(std::string_view s) {
  if (s == "viewer") {
    return role::viewer;
  }
  if (s == "editor") {
    return role::editor;
  }
  if (s == "owner") {
    return role::owner;
  }
  return std::nullopt;
}

accept_outcome accept_outcome_for(const invite& inv, role current, std::string_view now) {
  if (inv.expires_at && now >= *inv.expires_at) {
    return accept_outcome::expired;
  }
  if (inv.max_uses && inv.uses >= *inv.max_uses) {
    return accept_outcome::used_up;
  }
  // An owner always ends here: no invite role is above it.
  return current >= inv.invite_role ? accept_outcome::already_member : accept_outcome::accepted;
}

std::string room_channel(std::string_view room_id) {
  std::string channel = "room:";
  channel += room_id;
  return channel;
}

std::chrono::milliseconds lock_after(const lock_policy& policy, long long failures) {
  const long long over = failures - policy.free_failures;
  if (over <= 0) {
    return std::chrono::milliseconds{0};
  }
  // 1 s, 2 s, 4 s ... up to the cap; past 20 doublings every sensible cap is reached, and the
  // shift cannot overflow.
  const long long doublings = std::min(over - 1, 20LL);
  return std::min<std::chrono::milliseconds>(policy.first_lock * (1LL << doublings),
                                             policy.max_lock);
}

}  // namespace fun_notes::store
