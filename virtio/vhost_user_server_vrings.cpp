// SPDX-License-Identifier: MIT
// VhostUserServer, the vrings: the SET_VRING_* / GET_VRING_BASE requests, the Virtqueue each
// started ring is built into, and kicks. The connection, the other requests and the event loop
// are in vhost_user_server.cpp.
#include <sys/epoll.h>

#include "vdec/base/logging.h"
#include "vdec/base/wire.h"
#include "virtio/frontend_fd.h"
#include "virtio/vhost_user_server.h"

namespace vdec::virtio {

using namespace vdec::vhost;  // NOLINT(google-build-using-namespace): protocol constants

uint64_t VhostUserServer::kickTag(uint32_t index, uint32_t generation) {
  return (uint64_t{generation} << 32) | (kTagKick + index);
}

Result<VhostUserServer::Vring*> VhostUserServer::vringFor(uint64_t index) {
  if (index >= vrings_.size()) {
    return makeError(ErrorCode::kInvalidParameter, "vring {} out of {}", index, vrings_.size());
  }
  return &vrings_[index];
}

VhostUserServer::Outcome VhostUserServer::setVringNum(const VhostUserMessage& m) {
  auto apply = [&]() -> Status {
    VDEC_ASSIGN_OR_RETURN(auto state, payloadAs<VhostUserVringState>(m));
    VDEC_ASSIGN_OR_RETURN(Vring * vring, vringFor(state.index));
    if (state.num == 0 || state.num > device_.maxQueueSize() || (state.num & (state.num - 1))) {
      return makeError(ErrorCode::kInvalidParameter, "vring {} size {}", state.index, state.num);
    }
    vring->size = static_cast<uint16_t>(state.num);
    rebuildQueue(state.index);
    return okStatus();
  };
  return {apply(), std::nullopt};
}

VhostUserServer::Outcome VhostUserServer::setVringAddr(const VhostUserMessage& m) {
  auto apply = [&]() -> Status {
    VDEC_ASSIGN_OR_RETURN(auto addr, payloadAs<VhostUserVringAddr>(m));
    VDEC_ASSIGN_OR_RETURN(Vring * vring, vringFor(addr.index));
    vring->addr = addr;
    rebuildQueue(addr.index);
    return okStatus();
  };
  return {apply(), std::nullopt};
}

VhostUserServer::Outcome VhostUserServer::setVringBase(const VhostUserMessage& m) {
  auto apply = [&]() -> Status {
    VDEC_ASSIGN_OR_RETURN(auto state, payloadAs<VhostUserVringState>(m));
    VDEC_ASSIGN_OR_RETURN(Vring * vring, vringFor(state.index));
    vring->base = static_cast<uint16_t>(state.num);
    vring->queue.reset();  // rebuilt from the new base
    rebuildQueue(state.index);
    return okStatus();
  };
  return {apply(), std::nullopt};
}

VhostUserServer::Outcome VhostUserServer::getVringBase(const VhostUserMessage& m) {
  // Always answered: QEMU waits for this reply.
  auto state = payloadAs<VhostUserVringState>(m);
  VhostUserVringState reply{state ? state->index : 0, 0};
  if (!state) return {makeError(std::move(state.error())), toBytes(reply)};
  auto vring = vringFor(state->index);
  if (!vring) return {makeError(std::move(vring.error())), toBytes(reply)};
  reply.num = (*vring)->queue ? (*vring)->queue->nextAvail() : (*vring)->base;
  (*vring)->base = static_cast<uint16_t>(reply.num);
  stopVring(state->index);
  return {okStatus(), toBytes(reply)};
}

void VhostUserServer::stopVring(uint32_t index) {
  Vring& vring = vrings_[index];
  unwatch(vring.kick.get());
  vring.kick.reset();
  vring.queue.reset();
  vring.started = false;
}

VhostUserServer::Outcome VhostUserServer::setVringFd(VhostUserMessage& m) {
  auto apply = [&]() -> Status {
    VDEC_ASSIGN_OR_RETURN(auto value, payloadAs<uint64_t>(m));
    VDEC_ASSIGN_OR_RETURN(Vring * vring, vringFor(value & VHOST_USER_VRING_IDX_MASK));
    const auto index = static_cast<uint32_t>(value & VHOST_USER_VRING_IDX_MASK);
    const bool noFd = (value & VHOST_USER_VRING_NOFD_MASK) != 0;
    if (!noFd && m.fds.size() != 1) {
      return makeError(ErrorCode::kInvalidParameter, "vring {}: {} fds", index, m.fds.size());
    }
    UniqueFd fd = noFd ? UniqueFd() : std::move(m.fds.front());
    // Kick and call fds are used without ever blocking (frontend_fd.h); the err fd is only
    // held, never used.
    if (fd.isValid() && m.header.request != VHOST_USER_SET_VRING_ERR) {
      VDEC_TRY(prepareNotifyFd(
          fd.get(), m.header.request == VHOST_USER_SET_VRING_KICK ? "vring kick" : "vring call"));
    }
    switch (m.header.request) {
      case VHOST_USER_SET_VRING_KICK:
        unwatch(vring->kick.get());
        vring->kick = std::move(fd);
        // Events of the old fd still in this epoll batch carry the old generation: ignored.
        ++vring->kickGeneration;
        if (vring->kick.isValid()) {
          VDEC_TRY(watch(vring->kick.get(), kickTag(index, vring->kickGeneration)));
        }
        vring->started = true;  // a ring starts on SET_VRING_KICK
        rebuildQueue(index);
        processQueue(index);
        break;
      case VHOST_USER_SET_VRING_CALL:
        vring->call = std::move(fd);
        if (vring->queue) vring->queue->setCallFd(vring->call.get());
        break;
      default:
        vring->err = std::move(fd);
        break;
    }
    return okStatus();
  };
  return {apply(), std::nullopt};
}

VhostUserServer::Outcome VhostUserServer::setVringEnable(const VhostUserMessage& m) {
  auto apply = [&]() -> Status {
    VDEC_ASSIGN_OR_RETURN(auto state, payloadAs<VhostUserVringState>(m));
    VDEC_ASSIGN_OR_RETURN(Vring * vring, vringFor(state.index));
    vring->enabled = state.num != 0;
    processQueue(state.index);  // kicks that came before the enable
    return okStatus();
  };
  return {apply(), std::nullopt};
}

void VhostUserServer::rebuildQueue(uint32_t index) {
  Vring& vring = vrings_[index];
  if (vring.queue) vring.base = vring.queue->nextAvail();
  vring.queue.reset();
  if (!vring.started || !memory_ || !vring.addr || vring.size == 0) return;
  const bool eventIdx = (ackedFeatures_ & (1ull << VIRTIO_RING_F_EVENT_IDX)) != 0;
  const VirtqueueLayout layout{vring.size,
                               vring.addr->desc_user_addr,
                               vring.addr->avail_user_addr,
                               vring.addr->used_user_addr,
                               vring.base,
                               eventIdx};
  auto queue = Virtqueue::create(memory_, layout);
  if (!queue) {
    logs::virtio().warn("vring {} unusable: {}", index, queue.error().message);
    return;
  }
  vring.queue = std::move(*queue);
  vring.queue->setCallFd(vring.call.get());
}

std::vector<Virtqueue*> VhostUserServer::queueTable() {
  std::vector<Virtqueue*> table(vrings_.size(), nullptr);
  for (size_t i = 0; i < vrings_.size(); ++i) {
    if (vrings_[i].enabled && vrings_[i].queue) table[i] = &*vrings_[i].queue;
  }
  return table;
}

void VhostUserServer::processQueue(uint32_t index) {
  auto table = queueTable();
  if (index < table.size() && table[index] != nullptr) device_.onQueueKick(index, table);
}

void VhostUserServer::onKick(uint32_t index, uint32_t generation, uint32_t events) {
  if (index >= vrings_.size()) return;
  Vring& vring = vrings_[index];
  if (!vring.kick.isValid() || vring.kickGeneration != generation) return;  // stale event
  const KickState state = drainKick(vring.kick.get());
  if (state == KickState::kHungUp || (state == KickState::kEmpty && (events & EPOLLHUP) != 0)) {
    // A pipe whose write end is closed polls readable for ever: stop watching it, or the loop
    // spins. The ring runs again on the next SET_VRING_KICK.
    logs::virtio().warn("vring {} kick fd hung up; no more kicks until SET_VRING_KICK", index);
    unwatch(vring.kick.get());
    vring.kick.reset();
  }
  processQueue(index);
}

void VhostUserServer::onDeviceNotify() {
  auto table = queueTable();
  device_.onNotify(table);
}

}  // namespace vdec::virtio
