//! ringcast engine: shards, connections, rooms, cross-shard bus, HTTP
//! endpoints, configuration and metrics.
