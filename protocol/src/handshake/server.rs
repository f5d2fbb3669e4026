//! Server side of the opening handshake (RFC 6455 4.2).

use crate::error::Error;
use crate::handshake::Extension;

/// Limits on the request head.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// Most bytes the request line and headers may take; over it: 431.
    /// Default 8 KiB (the buffer a connection holds only while handshaking).
    pub max_header_bytes: usize,
    /// Most header lines; over it: 431. Default 64.
    pub max_headers: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            max_header_bytes: 8 * 1024,
            max_headers: 64,
        }
    }
}

/// A parsed HTTP/1.1 request head: any GET (plain endpoints such as
/// `/metrics` use it too) before the WebSocket rules are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method, e.g. `GET`.
    pub method: String,
    /// Path without the query, e.g. `/room/lobby`.
    pub path: String,
    /// Query string without the `?`, if any.
    pub query: Option<String>,
    /// Minor HTTP version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub http_minor: u8,
    /// Every header in order; names as sent, values as bytes.
    pub headers: Vec<(String, Vec<u8>)>,
}

/// Result of feeding bytes to [`parse_request`].
#[derive(Debug, PartialEq, Eq)]
pub enum ParsedRequest {
    /// The head is not complete yet (and within limits).
    NeedMore,
    /// A complete head and the number of bytes it took; bytes after it
    /// (a pipelined first frame) are the caller's.
    Complete(Request, usize),
}

/// Incrementally parse a request head from `buf` (the whole buffer so far).
pub fn parse_request(buf: &[u8], limits: &RequestLimits) -> Result<ParsedRequest, Error> {
    unimplemented!("{buf:?}{limits:?}")
}

/// A request that passed every RFC 6455 4.2.1 check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    /// The `Sec-WebSocket-Key`, as sent (base64 of 16 bytes).
    pub key: String,
    /// The Host header.
    pub host: String,
    /// The Origin header, if any.
    pub origin: Option<String>,
    /// Offered subprotocols, in the client's order of preference.
    pub protocols: Vec<String>,
    /// Offered extensions, parsed.
    pub extensions: Vec<Extension>,
}

impl Request {
    /// The first value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        unimplemented!("{name}")
    }

    /// Whether the request asks for a WebSocket upgrade at all
    /// (`Upgrade` contains the token `websocket`).
    pub fn wants_upgrade(&self) -> bool {
        unimplemented!()
    }

    /// Apply the RFC 6455 4.2.1 rules: GET, HTTP/1.1+, Host, Upgrade and
    /// Connection tokens, version 13, a 16-byte key.
    pub fn validate_upgrade(&self) -> Result<Upgrade, Error> {
        unimplemented!()
    }
}

/// Append the 101 Switching Protocols response for `key`, with the chosen
/// subprotocol and accepted extension header value, if any.
pub fn write_accept(dst: &mut Vec<u8>, key: &str, protocol: Option<&str>, extensions: Option<&str>) {
    unimplemented!("{dst:?}{key}{protocol:?}{extensions:?}")
}

/// Append a complete error response for a handshake error (status from
/// [`Error::http_status`], `Sec-WebSocket-Version: 13` on 426 version errors,
/// a short text body, `Connection: close`).
pub fn write_reject(dst: &mut Vec<u8>, error: &Error) {
    unimplemented!("{dst:?}{error:?}")
}

/// Append a plain HTTP response (for non-WebSocket endpoints) with the given
/// status, content type and body, and `Connection: close`.
pub fn write_plain(dst: &mut Vec<u8>, status: u16, content_type: &str, body: &[u8]) {
    unimplemented!("{dst:?}{status}{content_type}{body:?}")
}
