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

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn upgrade_request(extra: &str) -> String {
        format!(
            "GET /chat?room=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {SAMPLE_KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
        )
    }

    fn parse(text: &str) -> Result<ParsedRequest, Error> {
        parse_request(text.as_bytes(), &RequestLimits::default())
    }

    fn parse_complete(text: &str) -> Request {
        match parse(text) {
            Ok(ParsedRequest::Complete(request, consumed)) => {
                assert_eq!(consumed, text.len());
                request
            }
            other => panic!("{other:?}"),
        }
    }

    /// The request with one header line replaced (or removed when `to` is empty).
    fn with_header(name: &str, to: &str) -> String {
        let base = upgrade_request("");
        let mut out = String::new();
        for line in base.split_inclusive("\r\n") {
            if line
                .to_ascii_lowercase()
                .starts_with(&format!("{}:", name.to_ascii_lowercase()))
            {
                if !to.is_empty() {
                    out.push_str(&format!("{to}\r\n"));
                }
            } else {
                out.push_str(line);
            }
        }
        out
    }

    fn validate(text: &str) -> Result<Upgrade, Error> {
        parse_complete(text).validate_upgrade()
    }

    // ---- parsing (any GET) ----

    #[test]
    fn rfc_1_2_sample_request_is_a_valid_upgrade() {
        let request = parse_complete(&upgrade_request(
            "Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n",
        ));
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, "/chat");
        assert_eq!(request.query.as_deref(), Some("room=1"));
        assert_eq!(request.http_minor, 1);
        assert_eq!(request.header("HOST"), Some(&b"server.example.com"[..]));
        let upgrade = request.validate_upgrade().unwrap();
        assert_eq!(upgrade.key, SAMPLE_KEY);
        assert_eq!(upgrade.host, "server.example.com");
        assert_eq!(upgrade.origin.as_deref(), Some("http://example.com"));
        assert_eq!(upgrade.protocols, ["chat", "superchat"]);
        assert!(upgrade.extensions.is_empty());
    }

    #[test]
    fn plain_get_parses_without_websocket_headers() {
        let request = parse_complete("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(request.path, "/metrics");
        assert_eq!(request.query, None);
        assert!(!request.wants_upgrade());
        assert_eq!(request.validate_upgrade(), Err(Error::NotAnUpgrade));
    }

    #[test]
    fn every_prefix_of_the_request_needs_more() {
        let text = upgrade_request("");
        for cut in 0..text.len() {
            assert_eq!(
                parse(&text[..cut]),
                Ok(ParsedRequest::NeedMore),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn pipelined_first_frame_after_handshake_is_left_for_caller() {
        let head = upgrade_request("");
        let mut buf = head.clone().into_bytes();
        let frame = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        buf.extend_from_slice(&frame);
        match parse_request(&buf, &RequestLimits::default()) {
            Ok(ParsedRequest::Complete(_, consumed)) => {
                assert_eq!(consumed, head.len());
                assert_eq!(&buf[consumed..], &frame);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_request_line_is_400() {
        let err = parse("HELLO\x01 / HTTP/1.1\r\n\r\n").unwrap_err();
        assert_eq!(err, Error::MalformedRequest);
        assert_eq!(err.http_status(), Some(400));
    }

    #[test]
    fn http_2_request_line_is_malformed() {
        assert_eq!(
            parse("GET / HTTP/2.0\r\n\r\n"),
            Err(Error::MalformedRequest)
        );
    }

    // ---- limits ----

    #[test]
    fn header_over_8k_without_terminator_is_431() {
        let mut text = String::from("GET / HTTP/1.1\r\nHost: x\r\n");
        while text.len() <= 9 * 1024 {
            text.push_str(&format!("X-Filler: {}\r\n", "a".repeat(500)));
        }
        let err = parse(&text).unwrap_err();
        assert_eq!(err, Error::HeadersTooLarge);
        assert_eq!(err.http_status(), Some(431));
    }

    #[test]
    fn single_header_line_over_8k_without_terminator_is_431() {
        let text = format!("GET / HTTP/1.1\r\nX-Long: {}", "a".repeat(9 * 1024));
        assert_eq!(parse(&text), Err(Error::HeadersTooLarge));
    }

    #[test]
    fn complete_head_over_the_byte_limit_is_431() {
        let limits = RequestLimits {
            max_header_bytes: 64,
            ..RequestLimits::default()
        };
        let text = upgrade_request("");
        assert_eq!(
            parse_request(text.as_bytes(), &limits),
            Err(Error::HeadersTooLarge)
        );
    }

    #[test]
    fn head_exactly_at_the_byte_limit_is_accepted() {
        let text = upgrade_request("");
        let limits = RequestLimits {
            max_header_bytes: text.len(),
            ..RequestLimits::default()
        };
        let mut buf = text.clone().into_bytes();
        buf.extend_from_slice(&[0x82, 0x80, 0, 0, 0, 0]);
        assert!(matches!(
            parse_request(&buf, &limits),
            Ok(ParsedRequest::Complete(_, n)) if n == text.len()
        ));
    }

    #[test]
    fn sixty_five_headers_is_431() {
        // The upgrade request has 5 headers of its own.
        let extra: String = (0..60).map(|i| format!("X-{i}: v\r\n")).collect();
        let text = upgrade_request(&extra);
        let err = parse(&text).unwrap_err();
        assert_eq!(err, Error::TooManyHeaders);
        assert_eq!(err.http_status(), Some(431));
        let extra: String = (0..59).map(|i| format!("X-{i}: v\r\n")).collect();
        assert!(
            validate(&upgrade_request(&extra)).is_ok(),
            "64 headers are fine"
        );
    }

    #[test]
    fn header_count_limit_above_the_stack_default_works() {
        let limits = RequestLimits {
            max_headers: 100,
            ..RequestLimits::default()
        };
        let extra: String = (0..90).map(|i| format!("X-{i}: v\r\n")).collect();
        let text = upgrade_request(&extra);
        assert!(matches!(
            parse_request(text.as_bytes(), &limits),
            Ok(ParsedRequest::Complete(..))
        ));
    }

    // ---- RFC 6455 4.2.1 rules ----

    #[test]
    fn post_is_405() {
        let text = upgrade_request("").replacen("GET", "POST", 1);
        let err = validate(&text).unwrap_err();
        assert_eq!(err, Error::MethodNotGet);
        assert_eq!(err.http_status(), Some(405));
    }

    #[test]
    fn http_1_0_is_400() {
        let text = upgrade_request("").replacen("HTTP/1.1", "HTTP/1.0", 1);
        assert_eq!(validate(&text), Err(Error::HttpVersionTooOld));
    }

    #[test]
    fn missing_host_is_400() {
        assert_eq!(validate(&with_header("Host", "")), Err(Error::MissingHost));
    }

    #[test]
    fn upgrade_token_is_case_insensitive_and_may_be_in_a_list() {
        assert!(validate(&with_header("Upgrade", "Upgrade: h2c, WebSocket")).is_ok());
        assert!(validate(&with_header(
            "Connection",
            "Connection: keep-alive, UPGRADE"
        ))
        .is_ok());
    }

    #[test]
    fn connection_token_may_come_from_a_second_header() {
        let text = with_header(
            "Connection",
            "Connection: keep-alive\r\nConnection: upgrade",
        );
        assert!(validate(&text).is_ok());
    }

    #[test]
    fn missing_upgrade_header_is_426() {
        let err = validate(&with_header("Upgrade", "")).unwrap_err();
        assert_eq!(err, Error::NotAnUpgrade);
        assert_eq!(err.http_status(), Some(426));
    }

    #[test]
    fn upgrade_to_another_protocol_is_426() {
        assert_eq!(
            validate(&with_header("Upgrade", "Upgrade: h2c")),
            Err(Error::NotAnUpgrade)
        );
    }

    #[test]
    fn connection_without_upgrade_token_is_426() {
        assert_eq!(
            validate(&with_header("Connection", "Connection: keep-alive")),
            Err(Error::NotAnUpgrade)
        );
    }

    #[test]
    fn version_8_is_426_with_version_13_advertised() {
        let err = validate(&with_header(
            "Sec-WebSocket-Version",
            "Sec-WebSocket-Version: 8",
        ))
        .unwrap_err();
        assert_eq!(err, Error::UnsupportedVersion);
        assert_eq!(err.http_status(), Some(426));
        let mut out = Vec::new();
        write_reject(&mut out, &err);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nSec-WebSocket-Version: 13\r\n"), "{text}");
    }

    #[test]
    fn missing_version_is_426() {
        assert_eq!(
            validate(&with_header("Sec-WebSocket-Version", "")),
            Err(Error::UnsupportedVersion)
        );
    }

    #[test]
    fn missing_key_is_400() {
        let err = validate(&with_header("Sec-WebSocket-Key", "")).unwrap_err();
        assert_eq!(err, Error::InvalidKey);
        assert_eq!(err.http_status(), Some(400));
    }

    #[test]
    fn key_not_decoding_to_16_bytes_is_400() {
        // base64 of 15 bytes, of 17 bytes, of 18 bytes, and no base64 at all.
        for key in [
            "AAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAA=",
            "AAAAAAAAAAAAAAAAAAAAAAAA",
            "not base64 at all!!!!!==",
        ] {
            let text = with_header("Sec-WebSocket-Key", &format!("Sec-WebSocket-Key: {key}"));
            assert_eq!(validate(&text), Err(Error::InvalidKey), "{key}");
        }
    }

    #[test]
    fn key_with_surrounding_whitespace_is_trimmed() {
        let text = with_header(
            "Sec-WebSocket-Key",
            &format!("Sec-WebSocket-Key:   {SAMPLE_KEY}  "),
        );
        assert_eq!(validate(&text).unwrap().key, SAMPLE_KEY);
    }

    #[test]
    fn duplicate_key_is_400() {
        let text = upgrade_request(&format!("Sec-WebSocket-Key: {SAMPLE_KEY}\r\n"));
        assert_eq!(validate(&text), Err(Error::InvalidKey));
    }

    #[test]
    fn subprotocols_from_several_headers_are_collected_in_order() {
        let text =
            upgrade_request("Sec-WebSocket-Protocol: a, b\r\nSec-WebSocket-Protocol: c,,\r\n");
        assert_eq!(validate(&text).unwrap().protocols, ["a", "b", "c"]);
    }

    #[test]
    fn extension_offers_are_parsed() {
        let text = upgrade_request(
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
             Sec-WebSocket-Extensions: x-other\r\n",
        );
        let upgrade = validate(&text).unwrap();
        let names: Vec<_> = upgrade.extensions.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["permessage-deflate", "x-other"]);
        assert_eq!(
            upgrade.extensions[0].params,
            [("client_max_window_bits".to_string(), None)]
        );
    }

    #[test]
    fn malformed_extension_offer_is_400() {
        let text = upgrade_request("Sec-WebSocket-Extensions: permessage-deflate; =\r\n");
        assert_eq!(validate(&text), Err(Error::MalformedRequest));
    }

    // ---- responses ----

    #[test]
    fn accept_response_carries_rfc_sample_accept_and_protocol() {
        let mut out = Vec::new();
        write_accept(&mut out, SAMPLE_KEY, Some("chat"), None);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
        );
    }

    #[test]
    fn accept_response_carries_extensions_when_given() {
        let mut out = Vec::new();
        write_accept(&mut out, SAMPLE_KEY, None, Some("permessage-deflate"));
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"));
        assert!(!text.contains("Sec-WebSocket-Protocol"));
    }

    #[test]
    fn reject_response_is_complete_and_closes() {
        let mut out = Vec::new();
        write_reject(&mut out, &Error::InvalidKey);
        let text = String::from_utf8(out).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(head.contains(&format!("\r\nContent-Length: {}", body.len())));
        assert!(head.contains("\r\nConnection: close"));
        assert!(body.starts_with("client sent no valid Sec-WebSocket-Key"));
    }

    #[test]
    fn reject_405_lists_allowed_method() {
        let mut out = Vec::new();
        write_reject(&mut out, &Error::MethodNotGet);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
        assert!(text.contains("\r\nAllow: GET\r\n"));
    }

    #[test]
    fn plain_response_has_length_type_and_close() {
        let mut out = Vec::new();
        write_plain(&mut out, 200, "text/plain", b"ok\n");
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
        );
    }

    #[test]
    fn plain_response_with_unlisted_status_parses_as_http() {
        let mut out = Vec::new();
        write_plain(&mut out, 299, "text/plain", b"");
        let mut headers = [httparse::EMPTY_HEADER; 8];
        let mut response = httparse::Response::new(&mut headers);
        assert_eq!(
            response.parse(&out),
            Ok(httparse::Status::Complete(out.len()))
        );
        assert_eq!(response.code, Some(299));
    }
}
