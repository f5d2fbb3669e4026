//! Client side of the opening handshake (RFC 6455 4.1), used by the load
//! generator and the tests.

use crate::error::Error;
use crate::handshake::Extension;

/// base64 of the caller's 16 random bytes: a `Sec-WebSocket-Key`.
pub fn key_from_bytes(random: [u8; 16]) -> String {
    unimplemented!("{random:?}")
}

/// Append an upgrade request for `path_and_query` on `host` with the given
/// key, offered subprotocols and extension header value (if any), and extra
/// header lines (name, value).
pub fn write_request(
    dst: &mut Vec<u8>,
    host: &str,
    path_and_query: &str,
    key: &str,
    protocols: &[&str],
    extensions: Option<&str>,
    extra_headers: &[(&str, &str)],
) {
    unimplemented!("{dst:?}{host}{path_and_query}{key}{protocols:?}{extensions:?}{extra_headers:?}")
}

/// What the server agreed to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Accepted {
    /// The subprotocol the server selected, if any.
    pub protocol: Option<String>,
    /// The extensions the server enabled.
    pub extensions: Vec<Extension>,
}

/// Result of feeding bytes to [`parse_response`].
#[derive(Debug, PartialEq, Eq)]
pub enum ParsedResponse {
    /// The response head is not complete yet.
    NeedMore,
    /// Upgrade accepted; bytes consumed (frames may follow in the buffer).
    Complete(Accepted, usize),
}

/// Validate the server's response to a request sent with `key`, offering
/// `protocols` and the extension names in `offered_extensions`.
pub fn parse_response(
    buf: &[u8],
    key: &str,
    protocols: &[&str],
    offered_extensions: &[&str],
) -> Result<ParsedResponse, Error> {
    unimplemented!("{buf:?}{key}{protocols:?}{offered_extensions:?}")
}
