//! The client side of one connection: socket, upgrade, frame I/O, and the
//! checked payloads and sequence tracking the scenarios build on.

pub mod conn;
pub mod payload;
pub mod registry;
pub mod signal;
pub mod tracker;
