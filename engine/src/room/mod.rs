//! Rooms: a process-wide registry says which shards have members of a room
//! (an interest bitmap per room); each shard keeps its own member lists.
//! Publishing touches only the publisher's shard's members and hands the
//! shared frame to the other interested shards' inboxes.

mod registry;

pub use registry::{RoomInterest, RoomRegistry, MAX_SHARDS};

use std::collections::HashMap;
use std::sync::Arc;

use crate::shard::ConnId;

/// One room's members on this shard.
pub struct LocalRoom {
    /// The registry entry (shared with other shards).
    pub interest: Arc<RoomInterest>,
    /// Members on this shard, in join order (order only matters for tests).
    pub members: Vec<ConnId>,
}

/// This shard's rooms, by registry id.
#[derive(Default)]
pub struct LocalRooms {
    by_id: HashMap<u64, LocalRoom>,
    by_name: HashMap<Arc<str>, u64>,
}

/// Where a connection sits in a room's member list, so leaving is O(1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    /// Room id.
    pub room: u64,
    /// Index in the room's member list on this shard.
    pub index: u32,
}

impl LocalRooms {
    /// Add `conn` to room `name`, registering this shard's interest when it
    /// is the shard's first member.
    pub fn join(
        &mut self,
        registry: &RoomRegistry,
        shard: usize,
        name: &str,
        conn: ConnId,
    ) -> Membership {
        let known = self.by_name.get(name).copied();
        if let Some((room, local)) =
            known.and_then(|id| self.by_id.get_mut(&id).map(|local| (id, local)))
        {
            local.members.push(conn);
            return Membership {
                room,
                index: (local.members.len() - 1) as u32,
            };
        }
        let interest = registry.join_shard(name, shard);
        let room = interest.id;
        self.by_name.insert(interest.name.clone(), room);
        self.by_id.insert(
            room,
            LocalRoom {
                interest,
                members: vec![conn],
            },
        );
        Membership { room, index: 0 }
    }

    /// Remove the member at `membership`. Returns the member that moved into
    /// its slot (whose stored index must be updated), if any. The shard's
    /// interest is withdrawn when its last member leaves.
    pub fn leave(
        &mut self,
        registry: &RoomRegistry,
        shard: usize,
        membership: Membership,
    ) -> Option<ConnId> {
        let room = self.by_id.get_mut(&membership.room)?;
        let index = membership.index as usize;
        if index >= room.members.len() {
            return None;
        }
        room.members.swap_remove(index);
        let moved = room.members.get(index).copied();
        if room.members.is_empty() {
            if let Some(room) = self.by_id.remove(&membership.room) {
                self.by_name.remove(&room.interest.name);
                registry.leave_shard(room.interest, shard);
            }
        }
        moved
    }

    /// The local room with this id, if this shard has members in it.
    pub fn get(&self, id: u64) -> Option<&LocalRoom> {
        self.by_id.get(&id)
    }

    /// Number of rooms with members on this shard.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether this shard has no room members at all.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(index: u32) -> ConnId {
        ConnId {
            index,
            generation: 0,
        }
    }

    #[test]
    fn leaving_swaps_last_member_into_the_hole() {
        let registry = RoomRegistry::default();
        let mut rooms = LocalRooms::default();
        let a = rooms.join(&registry, 0, "lobby", conn(1));
        let _b = rooms.join(&registry, 0, "lobby", conn(2));
        let c = rooms.join(&registry, 0, "lobby", conn(3));
        assert_eq!(c.index, 2);
        assert_eq!(rooms.leave(&registry, 0, a), Some(conn(3)));
        assert_eq!(
            rooms.get(a.room).map(|r| r.members.clone()),
            Some(vec![conn(3), conn(2)])
        );
    }

    #[test]
    fn last_member_leaving_withdraws_shard_interest() {
        let registry = RoomRegistry::default();
        let mut shard0 = LocalRooms::default();
        let mut shard1 = LocalRooms::default();
        let m0 = shard0.join(&registry, 0, "feed", conn(1));
        let m1 = shard1.join(&registry, 1, "feed", conn(1));
        assert_eq!(m0.room, m1.room);
        let interest = shard0
            .get(m0.room)
            .map(|r| r.interest.clone())
            .expect("joined");
        assert_eq!(interest.shards(), 0b11);
        shard1.leave(&registry, 1, m1);
        assert_eq!(interest.shards(), 0b01);
        assert!(shard1.is_empty());
        drop(interest);
        shard0.leave(&registry, 0, m0);
        assert_eq!(registry.len(), 0, "an empty room leaves the registry");
    }
}
