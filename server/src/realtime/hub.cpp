#include "realtime/hub.hpp"

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "events/emit.hpp"

namespace parley::realtime {

std::shared_ptr<const std::string> Hub::event_frame(storage::Position pos, const std::string& payload) {
  return std::make_shared<const std::string>(fmt::format(R"({{"type":"event","position":{},"event":{}}})", pos, payload));
}

void Hub::attach(const std::shared_ptr<Device>& device) {
  bool first = false;
  {
    std::lock_guard lock(mutex_);
    auto& list = by_user_[device->user_id()];
    first = list.empty();
    list.push_back(device);
    ++count_;
  }
  if (first && presence_observer_) presence_observer_(device->user_id(), true);
}

bool Hub::attach_checked(const std::shared_ptr<Device>& device, const std::function<bool()>& still_valid) {
  attach(device);
  bool valid = false;
  try {
    valid = still_valid();
  } catch (...) {
    detach(*device);
    throw;
  }
  if (!valid) detach(*device);
  return valid;
}

void Hub::detach(const Device& device) {
  bool last = false;
  {
    std::lock_guard lock(mutex_);
    auto it = by_user_.find(device.user_id());
    if (it == by_user_.end()) return;
    auto& list = it->second;
    auto before = list.size();
    std::erase_if(list, [&](const std::weak_ptr<Device>& entry) {
      auto locked = entry.lock();
      return !locked || locked.get() == &device;
    });
    count_ -= std::min(count_, before - list.size());
    if (list.empty()) {
      by_user_.erase(it);
      last = true;
    }
  }
  if (last && presence_observer_) presence_observer_(device.user_id(), false);
}

void Hub::append_devices_locked(const std::vector<storage::UserId>& users,
                                std::vector<std::shared_ptr<Device>>& out) const {
  for (auto user : users) {
    auto it = by_user_.find(user);
    if (it == by_user_.end()) continue;
    for (const auto& entry : it->second) {
      if (auto device = entry.lock()) out.push_back(std::move(device));
    }
  }
}

std::vector<std::shared_ptr<Device>> Hub::devices_of(const std::vector<storage::UserId>& users) const {
  std::vector<std::shared_ptr<Device>> devices;
  std::lock_guard lock(mutex_);
  append_devices_locked(users, devices);
  return devices;
}

void Hub::publish(const std::vector<storage::Event>& events) {
  // Recorded before the devices are looked up: see nothing_since().
  positions_.published(events);
  // Each event's recipients' devices, under one lock for the whole batch:
  // devices[begin[i] .. begin[i + 1]) are event i's. The list is the hub's
  // own, kept from batch to batch with its capacity: grown afresh for every
  // commit, a fan-out to a hundred devices reallocated it seven times, and
  // its larger sizes made malloc consolidate its free lists each time.
  // Emptied on the way out, so that it holds no device between batches.
  auto& devices = publish_devices_;
  struct Release {
    std::vector<std::shared_ptr<Device>>& list;
    ~Release() {
      list.clear();
      if (list.capacity() > kKeptPublishDevices) list.shrink_to_fit();
    }
  } release{devices};
  std::vector<std::size_t> begin;
  begin.reserve(events.size() + 1);
  {
    std::lock_guard lock(mutex_);
    for (const auto& event : events) {
      begin.push_back(devices.size());
      append_devices_locked(event.recipients, devices);
    }
  }
  begin.push_back(devices.size());
  if (devices.empty()) return;

  auto frame_of = [&](const storage::Event& event) {
    auto payload = event.payload ? event.payload : events::message_payload(*event.message);
    return event_frame(event.pos, *payload);
  };
  // One event with recipients here (a commit of one message, the usual
  // case below a few hundred messages a second): each of its devices gets
  // it in one call, with nothing to group; the devices are handed over, not
  // copied.
  std::size_t with_devices = 0;
  std::size_t only = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (begin[i] != begin[i + 1]) {
      ++with_devices;
      only = i;
    }
  }
  if (with_devices == 1) {
    auto frame = frame_of(events[only]);
    for (auto d = begin[only]; d < begin[only + 1]; ++d) devices[d]->deliver_event(events[only].pos, frame);
    return;
  }

  // The frames of the batch grouped by device, each list in position order.
  std::unordered_map<Device*, std::pair<std::shared_ptr<Device>, Device::EventFrames>> by_device;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (begin[i] == begin[i + 1]) continue;
    const auto& event = events[i];
    auto frame = frame_of(event);
    for (auto d = begin[i]; d < begin[i + 1]; ++d) {
      auto& entry = by_device[devices[d].get()];
      if (!entry.first) entry.first = std::move(devices[d]);
      entry.second.emplace_back(event.pos, frame);
    }
  }
  for (auto& [raw, entry] : by_device) {
    if (entry.second.size() == 1) {
      entry.first->deliver_event(entry.second.front().first, std::move(entry.second.front().second));
    } else {
      entry.first->deliver_events(std::move(entry.second));
    }
  }
}

void Hub::send_to_users(const std::vector<storage::UserId>& users, const std::shared_ptr<const std::string>& frame,
                        std::optional<storage::UserId> except) {
  for (const auto& device : devices_of(users)) {
    if (except && device->user_id() == *except) continue;
    device->deliver_ephemeral(frame);
  }
}

void Hub::send_to_users_everywhere(const std::vector<storage::UserId>& users,
                                   const std::shared_ptr<const std::string>& frame,
                                   std::optional<storage::UserId> except) {
  send_to_users(users, frame, except);
  if (relay_.ephemeral) relay_.ephemeral(users, *frame, except);
}

bool Hub::online_anywhere(storage::UserId user) const {
  return online(user) || (relay_.online_elsewhere && relay_.online_elsewhere(user));
}

void Hub::close_sessions(const std::vector<storage::SessionId>& sessions, std::uint16_t code,
                         const std::string& reason) {
  if (relay_.sessions_closed && !sessions.empty()) relay_.sessions_closed(sessions);
  close_sessions_here(sessions, code, reason);
}

void Hub::close_sessions_here(const std::vector<storage::SessionId>& sessions, std::uint16_t code,
                              const std::string& reason) {
  std::vector<std::shared_ptr<Device>> matching;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [user, list] : by_user_) {
      for (const auto& entry : list) {
        auto device = entry.lock();
        if (device && std::find(sessions.begin(), sessions.end(), device->session_id()) != sessions.end()) {
          matching.push_back(std::move(device));
        }
      }
    }
  }
  for (const auto& device : matching) device->close(code, reason);
}

void Hub::close_all(std::uint16_t code, const std::string& reason) {
  std::vector<std::shared_ptr<Device>> all;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [user, list] : by_user_) {
      for (const auto& entry : list) {
        if (auto device = entry.lock()) all.push_back(std::move(device));
      }
    }
  }
  for (const auto& device : all) device->close(code, reason);
}

bool Hub::online(storage::UserId user) const {
  std::lock_guard lock(mutex_);
  return by_user_.contains(user);
}

std::size_t Hub::device_count() const {
  std::lock_guard lock(mutex_);
  return count_;
}

}  // namespace parley::realtime
