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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::server::{parse_request, write_accept, ParsedRequest, RequestLimits};

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    fn response(extra: &str) -> String {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {ACCEPT}\r\n{extra}\r\n"
        )
    }

    fn check(text: &str, protocols: &[&str], extensions: &[&str]) -> Result<ParsedResponse, Error> {
        parse_response(text.as_bytes(), KEY, protocols, extensions)
    }

    #[test]
    fn rfc_1_3_sample_key_is_base64_of_its_nonce() {
        assert_eq!(key_from_bytes(*b"the sample nonce"), KEY);
    }

    #[test]
    fn request_written_by_client_is_accepted_by_server() {
        let mut out = Vec::new();
        write_request(
            &mut out,
            "localhost:9000",
            "/room/lobby?x=1",
            KEY,
            &["v1", "v2"],
            Some("permessage-deflate"),
            &[("Origin", "http://localhost")],
        );
        let Ok(ParsedRequest::Complete(request, consumed)) =
            parse_request(&out, &RequestLimits::default())
        else {
            panic!("{}", String::from_utf8_lossy(&out));
        };
        assert_eq!(consumed, out.len());
        assert_eq!(request.path, "/room/lobby");
        assert_eq!(request.query.as_deref(), Some("x=1"));
        let upgrade = request.validate_upgrade().unwrap();
        assert_eq!(upgrade.key, KEY);
        assert_eq!(upgrade.host, "localhost:9000");
        assert_eq!(upgrade.protocols, ["v1", "v2"]);
        assert_eq!(upgrade.extensions[0].name, "permessage-deflate");
        assert_eq!(upgrade.origin.as_deref(), Some("http://localhost"));
    }

    #[test]
    fn response_written_by_server_is_accepted_by_client() {
        let mut out = Vec::new();
        write_accept(&mut out, KEY, Some("v2"), None);
        let len = out.len();
        out.extend_from_slice(&[0x81, 0x00]);
        assert_eq!(
            parse_response(&out, KEY, &["v1", "v2"], &[]),
            Ok(ParsedResponse::Complete(
                Accepted {
                    protocol: Some("v2".into()),
                    extensions: vec![]
                },
                len
            ))
        );
    }

    #[test]
    fn every_prefix_of_the_response_needs_more() {
        let text = response("");
        for cut in 0..text.len() {
            assert_eq!(
                check(&text[..cut], &[], &[]),
                Ok(ParsedResponse::NeedMore),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn non_101_status_is_reported() {
        let text = "HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(check(text, &[], &[]), Err(Error::UnexpectedStatus(426)));
    }

    #[test]
    fn missing_upgrade_or_connection_token_is_rejected() {
        let no_upgrade = response("").replace("Upgrade: websocket\r\n", "");
        assert_eq!(
            check(&no_upgrade, &[], &[]),
            Err(Error::ResponseNotAnUpgrade)
        );
        let no_connection = response("").replace("Connection: Upgrade", "Connection: keep-alive");
        assert_eq!(
            check(&no_connection, &[], &[]),
            Err(Error::ResponseNotAnUpgrade)
        );
    }

    #[test]
    fn wrong_or_missing_accept_is_rejected() {
        let wrong = response("").replace(ACCEPT, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        assert_eq!(check(&wrong, &[], &[]), Err(Error::AcceptMismatch));
        let missing = response("").replace(&format!("Sec-WebSocket-Accept: {ACCEPT}\r\n"), "");
        assert_eq!(check(&missing, &[], &[]), Err(Error::AcceptMismatch));
    }

    #[test]
    fn unrequested_subprotocol_is_rejected() {
        let text = response("Sec-WebSocket-Protocol: other\r\n");
        assert_eq!(
            check(&text, &["chat"], &[]),
            Err(Error::UnrequestedSubprotocol)
        );
        assert_eq!(check(&text, &[], &[]), Err(Error::UnrequestedSubprotocol));
    }

    #[test]
    fn subprotocol_list_in_response_is_rejected() {
        let text = response("Sec-WebSocket-Protocol: a, b\r\n");
        assert_eq!(
            check(&text, &["a", "b"], &[]),
            Err(Error::UnrequestedSubprotocol)
        );
    }

    #[test]
    fn unrequested_extension_is_rejected() {
        let text = response("Sec-WebSocket-Extensions: permessage-deflate\r\n");
        assert_eq!(check(&text, &[], &[]), Err(Error::UnrequestedExtension));
        assert!(matches!(
            check(&text, &[], &["permessage-deflate"]),
            Ok(ParsedResponse::Complete(accepted, _)) if accepted.extensions[0].name == "permessage-deflate"
        ));
    }

    #[test]
    fn malformed_extension_in_response_is_malformed_response() {
        let text = response("Sec-WebSocket-Extensions: ;;\r\n");
        assert_eq!(check(&text, &[], &["x"]), Err(Error::MalformedResponse));
    }

    #[test]
    fn endless_response_head_is_malformed() {
        let text = format!("HTTP/1.1 101 OK\r\nX: {}", "a".repeat(MAX_RESPONSE_HEAD));
        assert_eq!(check(&text, &[], &[]), Err(Error::MalformedResponse));
    }
}
