//! The process-wide room registry: name → (id, which shards have members).
//! Only a shard's first join and last leave of a room touch it (under a
//! lock); publishing reads the interest bitmap with one atomic load.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// The interest bitmap has one bit per shard.
pub const MAX_SHARDS: usize = 64;

/// A room as all shards see it.
pub struct RoomInterest {
    /// Process-unique id (never reused while the process runs).
    pub id: u64,
    /// The room's name.
    pub name: Arc<str>,
    shards: AtomicU64,
}

impl RoomInterest {
    /// Bit k set: shard k has at least one member.
    pub fn shards(&self) -> u64 {
        self.shards.load(Ordering::Acquire)
    }
}

/// Name → room, shared by every shard.
#[derive(Default)]
pub struct RoomRegistry {
    rooms: RwLock<HashMap<Arc<str>, Arc<RoomInterest>>>,
    next_id: AtomicU64,
}

impl RoomRegistry {
    /// Mark `shard` as having members of `name`, creating the room if new.
    pub fn join_shard(&self, name: &str, shard: usize) -> Arc<RoomInterest> {
        let mut rooms = self
            .rooms
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let interest = rooms
            .entry(Arc::from(name))
            .or_insert_with_key(|name| {
                Arc::new(RoomInterest {
                    id: self.next_id.fetch_add(1, Ordering::Relaxed),
                    name: name.clone(),
                    shards: AtomicU64::new(0),
                })
            })
            .clone();
        interest.shards.fetch_or(1 << shard, Ordering::AcqRel);
        interest
    }

    /// `shard` has no members left in this room. The room is forgotten once
    /// no shard holds it (a later join creates a fresh one with a new id).
    pub fn leave_shard(&self, interest: Arc<RoomInterest>, shard: usize) {
        interest.shards.fetch_and(!(1 << shard), Ordering::AcqRel);
        let mut rooms = self
            .rooms
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let name = interest.name.clone();
        drop(interest);
        // Only the map's own reference left means no shard can be about to
        // set a bit: joining shards take this lock first.
        if rooms
            .get(&name)
            .is_some_and(|room| Arc::strong_count(room) == 1)
        {
            rooms.remove(&name);
        }
    }

    /// Number of rooms with members anywhere.
    pub fn len(&self) -> usize {
        self.rooms.read().map_or(0, |rooms| rooms.len())
    }

    /// Whether no room has members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
