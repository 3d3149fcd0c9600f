// A command's synchronous drive of one room over the connection thread.
#include "commands/room_sync.hpp"

#include <poll.h>

#include "fun_notes/core/codec.hpp"
#include "sync/overloaded.hpp"

namespace fun_notes::cli {

namespace {

std::string room_of(const sync::server_msg& m) {
  return std::visit(overloaded{[](const sync::snapshot_msg& x) { return x.room; },
                               [](const sync::resume_msg& x) { return x.room; },
                               [](const sync::op_msg& x) { return x.room; },
                               [](const sync::reject_msg& x) { return x.room; },
                               [](const sync::presence_msg& x) { return x.room; },
                               [](const sync::error_msg& x) { return x.room; },
                               [](const auto&) { return std::string(); }},
                    m);
}

}  // namespace

room_sync::room_sync(sync::cache& cache, std::string server, std::string token, std::string room_id)
    : cache_(cache), server_(std::move(server)), token_(std::move(token)) {
  if (auto stored = cache_.load_room(room_id)) {
    room_ = std::make_unique<sync::replica>(std::move(*stored));
    known_locally_ = true;
  } else {
    room_ = std::make_unique<sync::replica>(room_id);
  }
}

room_sync::~room_sync() {
  close();
}

void room_sync::close() {
  if (conn_) {
    conn_->stop();
    conn_.reset();
  }
  if (room_->loaded()) {
    cache_.save(*room_);
  }
}

void room_sync::apply(sync::effects fx) {
  // The change is on disk before it goes out: a crash after the send cannot lose it.
  if (fx.persist && room_->loaded()) {
    cache_.save(*room_);
  }
  if (!fx.notices.empty()) {
    cache_.add_notices(room_->room_id(), fx.notices, core::format_time(core::now_millis()));
    notices_.insert(notices_.end(), fx.notices.begin(), fx.notices.end());
  }
  // While joining, the frames are the replica's own for this session (its join, the outbox
  // after the answer); a frame without a socket is dropped and the outbox keeps the change.
  if (conn_) {
    for (auto& f : fx.frames) {
      conn_->send(std::move(f));
    }
  }
}

void room_sync::handle(net::net_event&& e) {
  std::visit(overloaded{
                 [&](net::message_event& m) {
                   if (auto* w = std::get_if<sync::welcome_msg>(&m.msg)) {
                     core::limits lim;
                     lim.max_title_bytes = w->title_bytes;
                     lim.max_body_bytes = w->body_bytes;
                     room_->set_limits(lim);
                     apply(room_->on_connected());
                     return;
                   }
                   if (room_of(m.msg) != room_->room_id()) {
                     return;
                   }
                   apply(room_->on_message(m.msg));
                   online_ = room_->state() == sync::link_state::live;
                   if (room_->join_error()) {
                     offline_reason_ = room_->join_error()->code == "forbidden"
                                           ? "you may not open this room"
                                           : "no such room on the server";
                     ended_ = true;
                   }
                 },
                 [&](net::disconnected_event& d) {
                   room_->on_disconnected();
                   online_ = false;
                   ended_ = true;
                   auth_refused_ = d.close_code == 4001;
                   offline_reason_ = auth_refused_ ? "the server refused the sign-in" : d.reason;
                 },
                 [](auto&) {},
             },
             e);
}

bool room_sync::pump(std::chrono::steady_clock::time_point until,
                     const std::function<bool()>& done) {
  auto last_flush = std::chrono::steady_clock::now();
  while (!done()) {
    if (ended_) {
      return false;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) {
      if (offline_reason_.empty()) {
        offline_reason_ = "the server did not answer in time";
      }
      return false;
    }
    // Ops refused for the rate limit or unavailability go out again after a pause.
    if (online_ && room_->has_unsent() && now - last_flush > std::chrono::milliseconds(300)) {
      apply(room_->flush());
      last_flush = now;
    }
    pollfd p{conn_->wakeup_fd(), POLLIN, 0};
    const auto wait = std::min<std::int64_t>(
        100, std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() + 1);
    ::poll(&p, 1, static_cast<int>(wait));
    for (auto& e : conn_->drain()) {
      handle(std::move(e));
    }
  }
  return true;
}

bool room_sync::join(std::chrono::milliseconds deadline) {
  net::connection_options options;
  options.server_url = server_;
  options.token = token_;
  options.reconnect = false;
  options.connect_timeout = deadline;
  conn_ = std::make_unique<net::connection>(options);
  conn_->start();
  ended_ = false;
  return pump(std::chrono::steady_clock::now() + deadline, [&] { return online_; });
}

bool room_sync::settle(std::chrono::milliseconds deadline) {
  if (!conn_ || !online_) {
    return room_->outbox().empty();
  }
  return pump(std::chrono::steady_clock::now() + deadline, [&] { return room_->outbox().empty(); });
}

}  // namespace fun_notes::cli
