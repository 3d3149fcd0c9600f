// A pipelined, reconnecting Redis / Redis Cluster client (commands and sharded Pub/Sub) for the
// Redis HotLog and Bus adapters; hiredis parses and formats RESP, Asio moves the bytes.
#include "store/redis/redis_client.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <deque>
#include <future>
#include <map>
#include <optional>
#include <stdexcept>
#include <thread>

#include "store/redis/redis_connection.hpp"

namespace fun_notes::store::redis {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using detail::connection;
using detail::reply_handler;

namespace {

constexpr std::size_t slot_count = 16384;
// More redirections than this for one command means the cluster is reconfiguring in a loop.
constexpr int max_redirects = 5;
constexpr auto rediscovery_delay = 500ms;

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value == 0 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381": the slot and the node.
struct redirection {
  bool ask = false;
  std::uint16_t slot = 0;
  endpoint target;
};

std::optional<redirection> parse_redirection(const reply& r) {
  if (!r.is_error()) {
    return std::nullopt;
  }
  redirection out;
  std::string_view text = r.str;
  if (text.starts_with("MOVED ")) {
    text.remove_prefix(6);
  } else if (text.starts_with("ASK ")) {
    out.ask = true;
    text.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const auto space = text.find(' ');
  if (space == std::string_view::npos) {
    return std::nullopt;
  }
  unsigned slot = 0;
  const auto slot_text = text.substr(0, space);
  if (std::from_chars(slot_text.data(), slot_text.data() + slot_text.size(), slot).ec !=
          std::errc() ||
      slot >= slot_count) {
    return std::nullopt;
  }
  out.slot = static_cast<std::uint16_t>(slot);
  const auto address = text.substr(space + 1);
  const auto colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  const auto port = parse_port(address.substr(colon + 1));
  if (!port) {
    return std::nullopt;
  }
  out.target.host = std::string(address.substr(0, colon));
  out.target.port = *port;
  return out;
}

}  // namespace

endpoint parse_url(std::string_view url) {
  const auto bad = [url](std::string_view why) {
    return std::invalid_argument("bad Redis URL '" + std::string(url) + "': " + std::string(why) +
                                 " (expected redis://host:port)");
  };
  constexpr std::string_view scheme = "redis://";
  if (!url.starts_with(scheme)) {
    throw bad("it must start with redis://");
  }
  std::string_view rest = url.substr(scheme.size());
  if (rest.ends_with('/')) {
    rest.remove_suffix(1);
  }
  if (rest.find_first_of("/?#") != std::string_view::npos) {
    throw bad("paths, database numbers and options are not supported");
  }
  if (rest.find('@') != std::string_view::npos) {
    throw bad("credentials in the URL are not supported");
  }
  endpoint out;
  std::string_view port_text;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos || close == 1) {
      throw bad("unterminated or empty IPv6 address");
    }
    out.host = std::string(rest.substr(1, close - 1));
    const auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) {
        throw bad("unexpected text after the IPv6 address");
      }
      port_text = after.substr(1);
      if (port_text.empty()) {
        throw bad("empty port");
      }
    }
  } else {
    const auto colon = rest.find(':');
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) {
        throw bad("empty port");
      }
    }
  }
  if (out.host.empty()) {
    throw bad("no host");
  }
  if (!port_text.empty()) {
    const auto port = parse_port(port_text);
    if (!port) {
      throw bad("the port must be a number from 1 to 65535");
    }
    out.port = *port;
  }
  return out;
}

std::vector<endpoint> parse_urls(std::string_view urls) {
  std::vector<endpoint> out;
  for (;;) {
    const auto comma = urls.find(',');
    out.push_back(parse_url(urls.substr(0, comma)));
    if (comma == std::string_view::npos) {
      break;
    }
    urls.remove_prefix(comma + 1);
  }
  return out;
}

class client::impl {
 public:
  impl(std::vector<endpoint> seeds, client_options options)
      : options_(options),
        strand_(asio::make_strand(io_)),
        work_(io_.get_executor()),
        refresh_timer_(io_),
        cluster_slots_wire_(format_command({"CLUSTER", "SLOTS"})),
        asking_wire_(format_command({"ASKING"})) {
    if (seeds.empty()) {
      throw std::invalid_argument("no Redis URL given (expected redis://host:port)");
    }
    for (auto& seed : seeds) {
      node_for(seed);
    }
    thread_ = std::thread([this] { io_.run(); });
  }

  ~impl() {
    std::promise<void> done;
    asio::post(strand_, [this, &done] {
      shut_down();
      done.set_value();
    });
    done.get_future().wait();
    work_.reset();
    io_.stop();
    thread_.join();
  }

  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  void async_command(std::string_view routing_key, const std::vector<std::string>& args,
                     reply_handler done) {
    auto r = std::make_shared<request>();
    r->slot = key_slot(routing_key);
    r->wire = format_command(args);
    r->done = std::move(done);
    // Through the strand: its FIFO guarantee keeps one thread's commands in issue order.
    asio::post(strand_, [this, r] { execute(r); });
  }

  std::uint64_t ssubscribe(std::string channel, std::function<void(std::string_view)> on_message,
                           std::function<void()> on_confirmed) {
    const auto id = next_subscription_id_.fetch_add(1);
    auto sub = std::make_shared<subscription>();
    sub->channel = std::move(channel);
    sub->on_message = std::move(on_message);
    sub->on_confirmed = std::move(on_confirmed);
    asio::post(strand_, [this, id, sub] { add_subscription(id, sub); });
    return id;
  }

  void sunsubscribe(std::uint64_t id) {
    asio::post(strand_, [this, id] { remove_subscription(id); });
  }

  bool is_cluster() const { return cluster_.load(); }

  bool on_io_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  struct request {
    std::uint16_t slot = 0;
    std::string wire;
    reply_handler done;
    int redirects = 0;
  };

  struct subscription {
    std::string channel;
    std::function<void(std::string_view)> on_message;
    std::function<void()> on_confirmed;
  };

  // What a subscriber connection is waiting to hear back about, in the order it was sent.
  struct subscriber_request {
    bool subscribe = true;
    std::string channel;
  };

  struct node {
    endpoint where;
    std::string name;
    std::unique_ptr<connection> commands;
    std::unique_ptr<connection> subscriber;  // made on the first subscription it serves
    std::deque<subscriber_request> subscriber_requests;
  };

  struct channel_state {
    std::vector<std::uint64_t> ids;
    node* on = nullptr;  // the node it is (being) subscribed on
    bool confirmed = false;
  };

  // --- nodes and routing ---

  node* node_for(const endpoint& where) {
    const std::string name = where.host + ":" + std::to_string(where.port);
    auto& slot = nodes_[name];
    if (!slot) {
      slot = std::make_unique<node>();
      slot->where = where;
      slot->name = name;
      connection::hooks hooks;
      hooks.on_lost = [this](const std::string&) {
        // A node that went away may have failed over: ask the cluster who owns what now.
        if (cluster_ && !shut_down_) {
          refresh_topology();
        }
      };
      slot->commands = std::make_unique<connection>(io_, where, std::move(hooks),
                                                    options_.command_timeout);
    }
    return slot.get();
  }

  node* route(std::uint16_t slot) {
    if (!cluster_) {
      return single_;
    }
    if (slots_[slot] != nullptr) {
      return slots_[slot];
    }
    // An unmapped slot: any node answers with MOVED or CLUSTERDOWN.
    return nodes_.begin()->second.get();
  }

  void execute(const std::shared_ptr<request>& r) {
    if (shut_down_) {
      if (r->done) {
        r->done(reply::make_error("unavailable: client shut down"));
      }
      return;
    }
    if (!topology_known_) {
      waiting_.push_back(r);
      refresh_topology();
      return;
    }
    dispatch(r, route(r->slot), false);
  }

  void dispatch(const std::shared_ptr<request>& r, node* to, bool asking) {
    if (asking) {
      // Pipelined right before the command on the same connection, as ASK requires.
      to->commands->send(asking_wire_, nullptr);
    }
    to->commands->send(r->wire, [this, r](reply rep) { on_reply(r, std::move(rep)); });
  }

  void on_reply(const std::shared_ptr<request>& r, reply rep) {
    if (!shut_down_ && r->redirects < max_redirects) {
      if (const auto redirect = parse_redirection(rep)) {
        ++r->redirects;
        node* target = node_for(redirect->target);
        if (!redirect->ask) {
          // MOVED is permanent: remember it now, and re-read the whole map since one moved
          // slot usually means more did.
          cluster_ = true;
          slots_[redirect->slot] = target;
          refresh_topology();
        }
        dispatch(r, target, redirect->ask);
        return;
      }
    }
    if (r->done) {
      r->done(std::move(rep));
    }
  }

  // --- topology discovery ---

  void refresh_topology() {
    if (shut_down_) {
      return;
    }
    if (refresh_in_flight_) {
      refresh_again_ = true;
      return;
    }
    refresh_in_flight_ = true;
    refresh_again_ = false;
    // Connected nodes first: asking a dead one costs a connect timeout.
    auto candidates = std::make_shared<std::vector<node*>>();
    for (auto& [name, n] : nodes_) {
      candidates->push_back(n.get());
    }
    std::stable_partition(candidates->begin(), candidates->end(),
                          [](node* n) { return n->commands->connected(); });
    discover(candidates, 0, "");
  }

  void discover(const std::shared_ptr<std::vector<node*>>& candidates, std::size_t index,
                std::string failures) {
    if (index == candidates->size()) {
      discovery_failed(failures);
      return;
    }
    node* n = (*candidates)[index];
    n->commands->send(cluster_slots_wire_, [this, candidates, index, n,
                                            failures = std::move(failures)](reply rep) mutable {
      if (shut_down_) {
        return;
      }
      if (rep.is_error() && rep.str.find("cluster support disabled") != std::string::npos) {
        cluster_ = false;
        single_ = n;
        discovery_done();
        return;
      }
      if (!rep.is_array()) {
        failures += (failures.empty() ? "" : "; ") + n->name + ": " +
                    (rep.is_error() ? rep.str : std::string("unexpected CLUSTER SLOTS reply"));
        discover(candidates, index + 1, std::move(failures));
        return;
      }
      apply_slots(n, rep);
      discovery_done();
    });
  }

  // CLUSTER SLOTS: [[start, end, [host, port, id], replica...], ...]
  void apply_slots(node* asked, const reply& rep) {
    std::vector<node*> slots(slot_count, nullptr);
    for (const auto& range : rep.elements) {
      if (range.elements.size() < 3 || !range.elements[0].is_integer() ||
          !range.elements[1].is_integer() || range.elements[2].elements.size() < 2) {
        continue;
      }
      const auto& master = range.elements[2];
      endpoint where;
      // An empty host means "the node you asked", in the address you reached it at.
      where.host = master.elements[0].str.empty() ? asked->where.host : master.elements[0].str;
      if (!master.elements[1].is_integer() || master.elements[1].integer <= 0 ||
          master.elements[1].integer > 65535) {
        continue;
      }
      where.port = static_cast<std::uint16_t>(master.elements[1].integer);
      node* owner = node_for(where);
      const auto first = std::max<long long>(0, range.elements[0].integer);
      const auto last = std::min<long long>(slot_count - 1, range.elements[1].integer);
      for (auto s = first; s <= last; ++s) {
        slots[static_cast<std::size_t>(s)] = owner;
      }
    }
    slots_ = std::move(slots);
    cluster_ = true;
    single_ = nullptr;
  }

  void discovery_done() {
    refresh_in_flight_ = false;
    topology_known_ = true;
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& r : waiting) {
      dispatch(r, route(r->slot), false);
    }
    reconcile_subscriptions();
    if (refresh_again_) {
      refresh_topology();
    }
  }

  void discovery_failed(const std::string& failures) {
    refresh_in_flight_ = false;
    refresh_again_ = false;
    if (!topology_known_) {
      auto waiting = std::move(waiting_);
      waiting_.clear();
      const auto error =
          reply::make_error("unavailable: no Redis node answered CLUSTER SLOTS (" + failures + ")");
      for (auto& r : waiting) {
        if (r->done) {
          r->done(error);
        }
      }
    }
    if (!channels_.empty()) {
      schedule_refresh();
    }
  }

  void schedule_refresh() {
    if (refresh_scheduled_ || shut_down_) {
      return;
    }
    refresh_scheduled_ = true;
    refresh_timer_.expires_after(rediscovery_delay);
    refresh_timer_.async_wait([this](const boost::system::error_code& ec) {
      refresh_scheduled_ = false;
      if (!ec && !shut_down_) {
        refresh_topology();
      }
    });
  }

  // --- sharded Pub/Sub ---

  void add_subscription(std::uint64_t id, const std::shared_ptr<subscription>& sub) {
    if (shut_down_) {
      return;
    }
    subscriptions_[id] = sub;
    auto& channel = channels_[sub->channel];
    channel.ids.push_back(id);
    if (channel.confirmed) {
      if (sub->on_confirmed) {
        sub->on_confirmed();
      }
      return;
    }
    if (!topology_known_) {
      refresh_topology();
      return;
    }
    if (channel.on == nullptr) {
      assign_channel(sub->channel, channel);
    }
  }

  void remove_subscription(std::uint64_t id) {
    const auto found = subscriptions_.find(id);
    if (found == subscriptions_.end()) {
      return;
    }
    const std::string name = found->second->channel;
    subscriptions_.erase(found);
    const auto channel = channels_.find(name);
    if (channel == channels_.end()) {
      return;
    }
    std::erase(channel->second.ids, id);
    if (!channel->second.ids.empty()) {
      return;
    }
    unsubscribe_on(channel->second.on, name);
    channels_.erase(channel);
  }

  void unsubscribe_on(node* n, const std::string& name) {
    if (n != nullptr && n->subscriber && n->subscriber->connected()) {
      n->subscriber_requests.push_back({false, name});
      n->subscriber->send(format_command({"SUNSUBSCRIBE", name}), nullptr);
    }
  }

  connection& subscriber_of(node* n) {
    if (!n->subscriber) {
      connection::hooks hooks;
      hooks.on_connected = [this, n] { on_subscriber_connected(n); };
      hooks.on_lost = [this, n](const std::string&) { on_subscriber_lost(n); };
      hooks.on_push = [this, n](reply rep) { on_subscriber_reply(n, std::move(rep)); };
      n->subscriber = std::make_unique<connection>(io_, n->where, std::move(hooks),
                                                     options_.command_timeout);
    }
    return *n->subscriber;
  }

  void assign_channel(const std::string& name, channel_state& channel) {
    node* n = route(key_slot(name));
    channel.on = n;
    channel.confirmed = false;
    auto& sub = subscriber_of(n);
    if (sub.connected()) {
      n->subscriber_requests.push_back({true, name});
      sub.send(format_command({"SSUBSCRIBE", name}), nullptr);
    } else {
      // on_subscriber_connected subscribes every channel assigned to the node.
      sub.ensure_connected();
    }
  }

  void on_subscriber_connected(node* n) {
    n->subscriber_requests.clear();
    for (auto& [name, channel] : channels_) {
      if (channel.on == n) {
        n->subscriber_requests.push_back({true, name});
        n->subscriber->send(format_command({"SSUBSCRIBE", name}), nullptr);
      }
    }
  }

  void on_subscriber_lost(node* n) {
    if (shut_down_) {
      return;
    }
    n->subscriber_requests.clear();
    bool serves_any = false;
    for (auto& [name, channel] : channels_) {
      if (channel.on == n) {
        channel.confirmed = false;
        serves_any = true;
      }
    }
    if (!serves_any) {
      return;
    }
    if (cluster_) {
      refresh_topology();
    }
    // Backoff applies; on_subscriber_connected resubscribes.
    n->subscriber->ensure_connected();
  }

  void on_subscriber_reply(node* n, reply rep) {
    if (rep.is_error()) {
      if (n->subscriber_requests.empty()) {
        return;
      }
      const auto failed = std::move(n->subscriber_requests.front());
      n->subscriber_requests.pop_front();
      const auto channel = channels_.find(failed.channel);
      if (!failed.subscribe || channel == channels_.end() || channel->second.on != n) {
        return;
      }
      channel->second.on = nullptr;
      if (const auto redirect = parse_redirection(rep); redirect && !redirect->ask) {
        slots_[redirect->slot] = node_for(redirect->target);
        cluster_ = true;
        assign_channel(failed.channel, channel->second);
        refresh_topology();
      } else {
        // CLUSTERDOWN and the like: try again once the cluster had a moment.
        schedule_refresh();
      }
      return;
    }
    if (!rep.is_array() || rep.elements.size() < 3) {
      return;
    }
    const std::string& kind = rep.elements[0].str;
    const std::string& name = rep.elements[1].str;
    if (kind == "smessage") {
      const auto channel = channels_.find(name);
      if (channel == channels_.end()) {
        return;
      }
      // Copied first: a callback may unsubscribe and so change the list.
      std::vector<std::shared_ptr<subscription>> receivers;
      for (const auto id : channel->second.ids) {
        receivers.push_back(subscriptions_[id]);
      }
      for (const auto& sub : receivers) {
        if (sub->on_message) {
          sub->on_message(rep.elements[2].str);
        }
      }
      return;
    }
    const bool subscribe = kind == "ssubscribe";
    if (!subscribe && kind != "sunsubscribe") {
      return;
    }
    const bool requested = !n->subscriber_requests.empty() &&
                           n->subscriber_requests.front().subscribe == subscribe &&
                           n->subscriber_requests.front().channel == name;
    if (requested) {
      n->subscriber_requests.pop_front();
    }
    const auto channel = channels_.find(name);
    if (channel == channels_.end() || channel->second.on != n) {
      return;
    }
    if (subscribe) {
      if (!channel->second.confirmed) {
        channel->second.confirmed = true;
        std::vector<std::shared_ptr<subscription>> confirmed;
        for (const auto id : channel->second.ids) {
          confirmed.push_back(subscriptions_[id]);
        }
        for (const auto& sub : confirmed) {
          if (sub->on_confirmed) {
            sub->on_confirmed();
          }
        }
      }
    } else if (!requested) {
      // Redis dropped the subscription itself: the slot moved to another node.
      channel->second.on = nullptr;
      channel->second.confirmed = false;
      refresh_topology();
    }
  }

  // After a topology change: every wanted channel subscribed on the node owning its slot.
  void reconcile_subscriptions() {
    for (auto& [name, channel] : channels_) {
      node* owner = route(key_slot(name));
      if (channel.on == owner) {
        if (!channel.confirmed) {
          subscriber_of(owner).ensure_connected();
        }
        continue;
      }
      unsubscribe_on(channel.on, name);
      assign_channel(name, channel);
    }
  }

  void shut_down() {
    shut_down_ = true;
    refresh_timer_.cancel();
    for (auto& [name, n] : nodes_) {
      n->commands->close();
      if (n->subscriber) {
        n->subscriber->close();
      }
    }
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& r : waiting) {
      if (r->done) {
        r->done(reply::make_error("unavailable: client shut down"));
      }
    }
  }

  client_options options_;
  asio::io_context io_;
  asio::strand<asio::io_context::executor_type> strand_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  asio::steady_timer refresh_timer_;
  const std::string cluster_slots_wire_;
  const std::string asking_wire_;

  std::map<std::string, std::unique_ptr<node>> nodes_;
  std::vector<node*> slots_ = std::vector<node*>(slot_count, nullptr);
  node* single_ = nullptr;  // the standalone server, when there is no cluster
  std::atomic<bool> cluster_{false};
  bool topology_known_ = false;
  bool refresh_in_flight_ = false;
  bool refresh_again_ = false;
  bool refresh_scheduled_ = false;
  bool shut_down_ = false;
  std::deque<std::shared_ptr<request>> waiting_;  // issued before the first discovery

  std::atomic<std::uint64_t> next_subscription_id_{1};
  std::map<std::uint64_t, std::shared_ptr<subscription>> subscriptions_;
  std::map<std::string, channel_state> channels_;

  std::thread thread_;  // last: starts once everything it touches exists
};

client::client(const std::vector<std::string>& seed_urls, client_options options) {
  std::vector<endpoint> seeds;
  for (const auto& url : seed_urls) {
    auto parsed = parse_urls(url);
    seeds.insert(seeds.end(), parsed.begin(), parsed.end());
  }
  impl_ = std::make_unique<impl>(std::move(seeds), options);
}

client::~client() = default;

void client::async_command(std::string routing_key, std::vector<std::string> args,
                           std::function<void(reply)> done) {
  impl_->async_command(routing_key, args, std::move(done));
}

reply client::command(std::string routing_key, std::vector<std::string> args) {
  if (impl_->on_io_thread()) {
    // Waiting here would stop the very thread that has to deliver the reply.
    throw std::logic_error("redis::client::command called on the client's I/O thread");
  }
  auto promise = std::make_shared<std::promise<reply>>();
  auto result = promise->get_future();
  impl_->async_command(routing_key, args, [promise](reply r) { promise->set_value(std::move(r)); });
  return result.get();
}

std::uint64_t client::ssubscribe(std::string channel,
                                 std::function<void(std::string_view payload)> on_message,
                                 std::function<void()> on_confirmed) {
  return impl_->ssubscribe(std::move(channel), std::move(on_message), std::move(on_confirmed));
}

void client::sunsubscribe(std::uint64_t id) {
  impl_->sunsubscribe(id);
}

bool client::is_cluster() const {
  return impl_->is_cluster();
}

}  // namespace fun_notes::store::redis
