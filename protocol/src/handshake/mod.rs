//! The opening handshake (RFC 6455 section 4): the server side parses and
//! validates upgrade requests and writes responses; the client side builds
//! requests and validates responses.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha1::{Digest, Sha1};

use crate::Error;

pub mod client;
pub mod server;

/// The GUID appended to the key before hashing (RFC 6455 1.3).
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(sha1(key + GUID)).
pub fn accept_key(key: &[u8]) -> String {
    let digest = accept_digest(key);
    BASE64.encode(digest)
}

/// SHA-1 of key + GUID, before base64.
fn accept_digest(key: &[u8]) -> [u8; 20] {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(WEBSOCKET_GUID.as_bytes());
    sha.finalize().into()
}

/// `Sec-WebSocket-Accept` for `key`, written into `out` without allocating;
/// returns the 28 base64 bytes.
fn accept_key_into<'a>(key: &[u8], out: &'a mut [u8; 28]) -> &'a [u8] {
    // 20 bytes always encode to exactly 28 base64 characters, so this cannot
    // fail; fall back to nothing rather than panic if it ever did.
    let len = BASE64.encode_slice(accept_digest(key), out).unwrap_or(0);
    &out[..len]
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
///
/// Empty list elements (`a, , b`) are skipped, as HTTP list rules allow.
/// Quoted parameter values are unescaped and must then be tokens (9.1).
/// Errors are [`Error::MalformedRequest`]; the client side maps them to
/// [`Error::MalformedResponse`].
pub fn parse_extensions(value: &str, out: &mut Vec<Extension>) -> Result<(), Error> {
    let mut p = ListParser {
        s: value.as_bytes(),
        at: 0,
    };
    loop {
        p.skip_ws();
        match p.peek() {
            None => return Ok(()),
            Some(b',') => {
                p.at += 1;
                continue;
            }
            Some(_) => {}
        }
        let mut extension = Extension {
            name: p.token()?,
            params: Vec::new(),
        };
        loop {
            p.skip_ws();
            match p.peek() {
                Some(b';') => {
                    p.at += 1;
                    p.skip_ws();
                    let name = p.token()?;
                    p.skip_ws();
                    let value = if p.peek() == Some(b'=') {
                        p.at += 1;
                        p.skip_ws();
                        Some(p.token_or_quoted()?)
                    } else {
                        None
                    };
                    extension.params.push((name, value));
                }
                Some(b',') | None => break,
                Some(_) => return Err(Error::MalformedRequest),
            }
        }
        out.push(extension);
    }
}

/// A cursor over an HTTP header value.
struct ListParser<'a> {
    s: &'a [u8],
    at: usize,
}

impl ListParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    fn token(&mut self) -> Result<String, Error> {
        let start = self.at;
        while self.peek().is_some_and(is_tchar) {
            self.at += 1;
        }
        if self.at == start {
            return Err(Error::MalformedRequest);
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.at]).into_owned())
    }

    fn token_or_quoted(&mut self) -> Result<String, Error> {
        if self.peek() != Some(b'"') {
            return self.token();
        }
        self.at += 1;
        let mut value = Vec::new();
        loop {
            match self.peek() {
                None => return Err(Error::MalformedRequest),
                Some(b'"') => {
                    self.at += 1;
                    break;
                }
                Some(b'\\') => {
                    let escaped = self
                        .s
                        .get(self.at + 1)
                        .copied()
                        .ok_or(Error::MalformedRequest)?;
                    value.push(escaped);
                    self.at += 2;
                }
                Some(byte) => {
                    value.push(byte);
                    self.at += 1;
                }
            }
        }
        if value.is_empty() || !value.iter().copied().all(is_tchar) {
            return Err(Error::MalformedRequest);
        }
        Ok(String::from_utf8_lossy(&value).into_owned())
    }
}

/// RFC 7230 `tchar`: the characters of a token.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Whether any of `values` (comma-separated lists) holds `token`,
/// compared case-insensitively.
fn has_token<'a>(values: impl IntoIterator<Item = &'a [u8]>, token: &str) -> bool {
    values
        .into_iter()
        .flat_map(|value| value.split(|&b| b == b','))
        .any(|item| item.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// Append the decimal form of `n` without going through `fmt`.
fn push_decimal(dst: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    dst.extend_from_slice(&digits[at..]);
}

/// Append `name: value\r\n`.
fn push_header(dst: &mut Vec<u8>, name: &str, value: &[u8]) {
    dst.extend_from_slice(name.as_bytes());
    dst.extend_from_slice(b": ");
    dst.extend_from_slice(value);
    dst.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_1_3_sample_key_gives_sample_accept() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        let mut out = [0u8; 28];
        assert_eq!(
            accept_key_into(b"dGhlIHNhbXBsZSBub25jZQ==", &mut out),
            b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    fn parse(value: &str) -> Result<Vec<Extension>, Error> {
        let mut out = Vec::new();
        parse_extensions(value, &mut out).map(|()| out)
    }

    fn ext(name: &str, params: &[(&str, Option<&str>)]) -> Extension {
        Extension {
            name: name.into(),
            params: params
                .iter()
                .map(|(n, v)| (n.to_string(), v.map(str::to_string)))
                .collect(),
        }
    }

    #[test]
    fn permessage_deflate_offer_with_params_parses() {
        assert_eq!(
            parse("permessage-deflate; client_max_window_bits; server_max_window_bits=10").unwrap(),
            vec![ext(
                "permessage-deflate",
                &[
                    ("client_max_window_bits", None),
                    ("server_max_window_bits", Some("10"))
                ]
            )]
        );
    }

    #[test]
    fn several_extensions_and_quoted_values_parse() {
        assert_eq!(
            parse("foo, bar; baz=\"2\" ,, permessage-deflate").unwrap(),
            vec![
                ext("foo", &[]),
                ext("bar", &[("baz", Some("2"))]),
                ext("permessage-deflate", &[])
            ]
        );
    }

    #[test]
    fn empty_extension_header_is_no_extensions() {
        assert_eq!(parse("  ").unwrap(), vec![]);
    }

    #[test]
    fn malformed_extension_lists_are_rejected() {
        for bad in [
            "foo bar",
            "; x",
            "foo; =1",
            "foo; a=",
            "foo; a=\"unterminated",
            "foo; a=\"two words\"",
            "foo; a=\"\"",
            "foo; a=\"x\\",
            "f\u{e9}e",
        ] {
            assert_eq!(parse(bad), Err(Error::MalformedRequest), "{bad:?}");
        }
    }

    #[test]
    fn token_lists_match_case_insensitively_across_headers() {
        let values: [&[u8]; 2] = [b"keep-alive", b" Keep-Alive , UPGRADE "];
        assert!(has_token(values, "upgrade"));
        assert!(!has_token([b"upgrades".as_slice()], "upgrade"));
    }

    #[test]
    fn decimals_are_written_without_leading_zeros() {
        for n in [0u64, 7, 10, 101, 65535, u64::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }
}
