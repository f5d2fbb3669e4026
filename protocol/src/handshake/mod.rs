//! The opening handshake (RFC 6455 section 4): the server side parses and
//! validates upgrade requests and writes responses; the client side builds
//! requests and validates responses.

pub mod client;
pub mod server;

/// The GUID appended to the key before hashing (RFC 6455 1.3).
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(sha1(key + GUID)).
pub fn accept_key(key: &[u8]) -> String {
    unimplemented!("{key:?}")
}

/// One extension offered or accepted in `Sec-WebSocket-Extensions`, e.g.
/// `permessage-deflate; client_max_window_bits`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// Extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// Parameters in order: name and optional value (quotes removed).
    pub params: Vec<(String, Option<String>)>,
}

/// Parse a `Sec-WebSocket-Extensions` header value (RFC 6455 9.1) into its
/// extensions, appending to `out`. Malformed input is an error.
pub fn parse_extensions(value: &str, out: &mut Vec<Extension>) -> Result<(), crate::Error> {
    unimplemented!("{value}{out:?}")
}
