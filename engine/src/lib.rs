//! ringcast engine: shards, connections, rooms, cross-shard bus, HTTP
//! endpoints, configuration and metrics. See docs/architecture.md.

pub mod bus;
pub mod config;
pub mod http;
pub mod log;
pub mod metrics;
pub mod room;
pub mod server;
pub mod shard;
pub mod signals;

pub use config::Config;
pub use server::Server;
