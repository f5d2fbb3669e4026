//! Client side of the opening handshake (RFC 6455 4.1), used by the load
//! generator and the tests.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use crate::error::Error;
use crate::handshake::{accept_key_into, has_token, parse_extensions, push_header, Extension};

/// Most bytes a server's response head may take before the client gives up
/// on it ([`Error::MalformedResponse`]): a 101 is a few hundred bytes.
pub const MAX_RESPONSE_HEAD: usize = 16 * 1024;

/// Most header lines accepted in the server's response.
pub const MAX_RESPONSE_HEADERS: usize = 64;

/// base64 of the caller's 16 random bytes: a `Sec-WebSocket-Key`.
pub fn key_from_bytes(random: [u8; 16]) -> String {
    BASE64.encode(random)
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
    dst.extend_from_slice(b"GET ");
    dst.extend_from_slice(path_and_query.as_bytes());
    dst.extend_from_slice(b" HTTP/1.1\r\n");
    push_header(dst, "Host", host.as_bytes());
    dst.extend_from_slice(b"Upgrade: websocket\r\nConnection: Upgrade\r\n");
    push_header(dst, "Sec-WebSocket-Key", key.as_bytes());
    dst.extend_from_slice(b"Sec-WebSocket-Version: 13\r\n");
    if !protocols.is_empty() {
        push_header(
            dst,
            "Sec-WebSocket-Protocol",
            protocols.join(", ").as_bytes(),
        );
    }
    if let Some(extensions) = extensions {
        push_header(dst, "Sec-WebSocket-Extensions", extensions.as_bytes());
    }
    for (name, value) in extra_headers {
        push_header(dst, name, value.as_bytes());
    }
    dst.extend_from_slice(b"\r\n");
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
    let window = &buf[..buf.len().min(MAX_RESPONSE_HEAD)];
    let mut slots = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
    let mut res = httparse::Response::new(&mut slots);
    let consumed = match res.parse(window) {
        Ok(httparse::Status::Complete(consumed)) => consumed,
        Ok(httparse::Status::Partial) if buf.len() < MAX_RESPONSE_HEAD => {
            return Ok(ParsedResponse::NeedMore)
        }
        Ok(httparse::Status::Partial) | Err(_) => return Err(Error::MalformedResponse),
    };
    match res.code {
        Some(101) => {}
        Some(status) => return Err(Error::UnexpectedStatus(status)),
        None => return Err(Error::MalformedResponse),
    }
    let values = |name: &'static str| {
        res.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    };
    if !has_token(values("upgrade"), "websocket") || !has_token(values("connection"), "upgrade") {
        return Err(Error::ResponseNotAnUpgrade);
    }
    let mut expected = [0u8; 28];
    let expected = accept_key_into(key.as_bytes(), &mut expected);
    let mut accepts = values("sec-websocket-accept");
    if accepts.next().map(<[u8]>::trim_ascii) != Some(expected) || accepts.next().is_some() {
        return Err(Error::AcceptMismatch);
    }
    let mut selected = values("sec-websocket-protocol");
    let protocol = match (selected.next(), selected.next()) {
        (None, _) => None,
        (Some(value), None) => {
            let value = std::str::from_utf8(value.trim_ascii())
                .map_err(|_| Error::UnrequestedSubprotocol)?;
            if !protocols.contains(&value) {
                return Err(Error::UnrequestedSubprotocol);
            }
            Some(value.to_owned())
        }
        // The server must pick one; a second header is not a choice we made.
        (Some(_), Some(_)) => return Err(Error::UnrequestedSubprotocol),
    };
    let mut extensions = Vec::new();
    for value in values("sec-websocket-extensions") {
        let value = std::str::from_utf8(value).map_err(|_| Error::MalformedResponse)?;
        parse_extensions(value, &mut extensions).map_err(|_| Error::MalformedResponse)?;
    }
    if extensions
        .iter()
        .any(|e| !offered_extensions.contains(&e.name.as_str()))
    {
        return Err(Error::UnrequestedExtension);
    }
    Ok(ParsedResponse::Complete(
        Accepted {
            protocol,
            extensions,
        },
        consumed,
    ))
}
