//! Server side of the opening handshake (RFC 6455 4.2).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use crate::error::Error;
use crate::handshake::{
    accept_key_into, has_token, parse_extensions, push_decimal, push_header, Extension,
};

/// Default [`RequestLimits::max_headers`]; up to this many header slots live
/// on the stack while parsing.
pub const DEFAULT_MAX_HEADERS: usize = 64;

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
            max_headers: DEFAULT_MAX_HEADERS,
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
///
/// Only the first `max_header_bytes` of `buf` are looked at, so a head that
/// has not ended by then is [`Error::HeadersTooLarge`] at once, even while
/// more bytes could still arrive.
pub fn parse_request(buf: &[u8], limits: &RequestLimits) -> Result<ParsedRequest, Error> {
    let window = &buf[..buf.len().min(limits.max_header_bytes)];
    let mut stack = [httparse::EMPTY_HEADER; DEFAULT_MAX_HEADERS];
    let mut heap;
    let slots: &mut [httparse::Header] = if limits.max_headers <= DEFAULT_MAX_HEADERS {
        &mut stack[..limits.max_headers]
    } else {
        heap = vec![httparse::EMPTY_HEADER; limits.max_headers];
        &mut heap
    };
    let mut req = httparse::Request::new(slots);
    let consumed = match req.parse(window) {
        Ok(httparse::Status::Complete(consumed)) => consumed,
        Ok(httparse::Status::Partial) if buf.len() > limits.max_header_bytes => {
            return Err(Error::HeadersTooLarge)
        }
        Ok(httparse::Status::Partial) => return Ok(ParsedRequest::NeedMore),
        Err(httparse::Error::TooManyHeaders) => return Err(Error::TooManyHeaders),
        Err(_) => return Err(Error::MalformedRequest),
    };
    let (Some(method), Some(target), Some(http_minor)) = (req.method, req.path, req.version) else {
        return Err(Error::MalformedRequest);
    };
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query.to_owned())),
        None => (target, None),
    };
    let request = Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query,
        http_minor,
        headers: req
            .headers
            .iter()
            .map(|h| (h.name.to_owned(), h.value.to_vec()))
            .collect(),
    };
    Ok(ParsedRequest::Complete(request, consumed))
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
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// Every value of header `name` (case-insensitive), in order.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// Whether the request asks for a WebSocket upgrade at all
    /// (`Upgrade` contains the token `websocket`).
    pub fn wants_upgrade(&self) -> bool {
        has_token(self.headers_named("upgrade"), "websocket")
    }

    /// Apply the RFC 6455 4.2.1 rules: GET, HTTP/1.1+, Host, Upgrade and
    /// Connection tokens, version 13, a 16-byte key.
    ///
    /// The checks run in that order and the first failure is returned, so a
    /// plain HTTP client gets 426 before any complaint about the key.
    pub fn validate_upgrade(&self) -> Result<Upgrade, Error> {
        if self.method != "GET" {
            return Err(Error::MethodNotGet);
        }
        if self.http_minor < 1 {
            return Err(Error::HttpVersionTooOld);
        }
        let host = self.header("host").ok_or(Error::MissingHost)?;
        let host = utf8_value(host)?;
        if !self.wants_upgrade() || !has_token(self.headers_named("connection"), "upgrade") {
            return Err(Error::NotAnUpgrade);
        }
        let mut versions = self.headers_named("sec-websocket-version");
        if versions.next().map(<[u8]>::trim_ascii) != Some(b"13") || versions.next().is_some() {
            return Err(Error::UnsupportedVersion);
        }
        let mut keys = self.headers_named("sec-websocket-key");
        let key = keys
            .next()
            .map(<[u8]>::trim_ascii)
            .ok_or(Error::InvalidKey)?;
        if keys.next().is_some() || !is_valid_key(key) {
            return Err(Error::InvalidKey);
        }
        let mut protocols = Vec::new();
        for value in self.headers_named("sec-websocket-protocol") {
            let value = utf8_value(value)?;
            protocols.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned),
            );
        }
        let mut extensions = Vec::new();
        for value in self.headers_named("sec-websocket-extensions") {
            parse_extensions(utf8_value(value)?, &mut extensions)?;
        }
        Ok(Upgrade {
            key: utf8_value(key)?.to_owned(),
            host: host.to_owned(),
            origin: self
                .header("origin")
                .map(utf8_value)
                .transpose()?
                .map(str::to_owned),
            protocols,
            extensions,
        })
    }
}

/// Append the 101 Switching Protocols response for `key`, with the chosen
/// subprotocol and accepted extension header value, if any.
pub fn write_accept(
    dst: &mut Vec<u8>,
    key: &str,
    protocol: Option<&str>,
    extensions: Option<&str>,
) {
    let mut accept = [0u8; 28];
    dst.extend_from_slice(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
    );
    push_header(
        dst,
        "Sec-WebSocket-Accept",
        accept_key_into(key.as_bytes(), &mut accept),
    );
    if let Some(protocol) = protocol {
        push_header(dst, "Sec-WebSocket-Protocol", protocol.as_bytes());
    }
    if let Some(extensions) = extensions {
        push_header(dst, "Sec-WebSocket-Extensions", extensions.as_bytes());
    }
    dst.extend_from_slice(b"\r\n");
}

/// Append a complete error response for a handshake error (status from
/// [`Error::http_status`], `Sec-WebSocket-Version: 13` on 426 version errors,
/// a short text body, `Connection: close`).
///
/// 426 also carries `Upgrade: websocket` and 405 `Allow: GET`, as HTTP
/// requires of those statuses. An error with no HTTP status (a caller
/// mistake) is answered 400.
pub fn write_reject(dst: &mut Vec<u8>, error: &Error) {
    let status = error.http_status().unwrap_or(400);
    let mut extra: &[(&str, &str)] = &[];
    match error {
        Error::UnsupportedVersion => {
            extra = &[("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")]
        }
        Error::NotAnUpgrade => extra = &[("Upgrade", "websocket")],
        Error::MethodNotGet => extra = &[("Allow", "GET")],
        _ => {}
    }
    let body = format!("{error}\n");
    write_response(
        dst,
        status,
        "text/plain; charset=utf-8",
        extra,
        body.as_bytes(),
    );
}

/// Append a plain HTTP response (for non-WebSocket endpoints) with the given
/// status, content type and body, and `Connection: close`.
pub fn write_plain(dst: &mut Vec<u8>, status: u16, content_type: &str, body: &[u8]) {
    write_response(dst, status, content_type, &[], body);
}

fn write_response(
    dst: &mut Vec<u8>,
    status: u16,
    content_type: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) {
    dst.extend_from_slice(b"HTTP/1.1 ");
    push_decimal(dst, u64::from(status));
    dst.push(b' ');
    dst.extend_from_slice(reason_phrase(status).as_bytes());
    dst.extend_from_slice(b"\r\n");
    push_header(dst, "Content-Type", content_type.as_bytes());
    dst.extend_from_slice(b"Content-Length: ");
    push_decimal(dst, body.len() as u64);
    dst.extend_from_slice(b"\r\nConnection: close\r\n");
    for (name, value) in extra {
        push_header(dst, name, value.as_bytes());
    }
    dst.extend_from_slice(b"\r\n");
    dst.extend_from_slice(body);
}

/// The reason phrase for the statuses this server sends; HTTP allows an
/// empty one for the rest.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// A header value the WebSocket rules read as text.
fn utf8_value(value: &[u8]) -> Result<&str, Error> {
    std::str::from_utf8(value).map_err(|_| Error::MalformedRequest)
}

/// `Sec-WebSocket-Key` must be base64 of exactly 16 bytes (4.2.1 item 5).
fn is_valid_key(key: &[u8]) -> bool {
    // 16 bytes encode to 24 characters ending in "=="; anything else cannot
    // decode to 16 bytes, and checking first bounds the decode buffer.
    let mut decoded = [0u8; 18];
    key.len() == 24 && matches!(BASE64.decode_slice(key, &mut decoded), Ok(16))
}
