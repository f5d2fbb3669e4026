//! The one error type of the protocol crate.
//!
//! Every variant says who is at fault (the peer, almost always) and maps to
//! exactly one answer: an HTTP status during the handshake, or a close code
//! once the connection is a WebSocket.

use crate::close::CloseCode;

/// A violation of RFC 6455 (or of a configured limit) found in peer input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    // ---- server side of the opening handshake (answered with an HTTP status) ----
    /// The request line or headers are not valid HTTP/1.1. 400.
    MalformedRequest,
    /// The request head exceeds the configured byte limit. 431.
    HeadersTooLarge,
    /// The request carries more headers than the configured count limit. 431.
    TooManyHeaders,
    /// The method is not GET. 405.
    MethodNotGet,
    /// The request is HTTP/1.0 (RFC 6455 4.1 requires 1.1 or later). 400.
    HttpVersionTooOld,
    /// No Host header. 400.
    MissingHost,
    /// No `Upgrade: websocket` or no `upgrade` token in `Connection`: a plain
    /// HTTP request reached a WebSocket endpoint. 426.
    NotAnUpgrade,
    /// `Sec-WebSocket-Version` missing or not 13. 426, with
    /// `Sec-WebSocket-Version: 13` in the response.
    UnsupportedVersion,
    /// `Sec-WebSocket-Key` missing, or not base64 of exactly 16 bytes. 400.
    InvalidKey,

    // ---- client side of the opening handshake (the server is at fault) ----
    /// The server's response is not valid HTTP.
    MalformedResponse,
    /// The server answered with a status other than 101.
    UnexpectedStatus(u16),
    /// The 101 response lacks `Upgrade: websocket` or `Connection: upgrade`.
    ResponseNotAnUpgrade,
    /// `Sec-WebSocket-Accept` does not match the key we sent.
    AcceptMismatch,
    /// The server selected a subprotocol we did not offer.
    UnrequestedSubprotocol,
    /// The server enabled an extension we did not offer.
    UnrequestedExtension,

    // ---- frames and messages (answered with a close code) ----
    /// A client sent an unmasked frame (RFC 6455 5.1). 1002.
    UnmaskedFrame,
    /// A server sent a masked frame (RFC 6455 5.1). 1002.
    MaskedFrame,
    /// RSV1-3 set without a negotiated extension that defines them. 1002.
    ReservedBitsSet,
    /// Opcode 3-7 or 11-15. 1002.
    ReservedOpcode(u8),
    /// The 64-bit payload length has its most significant bit set. 1002.
    LengthTopBitSet,
    /// A control frame with a payload over 125 bytes. 1002.
    ControlFrameTooLong,
    /// A control frame with FIN clear. 1002.
    FragmentedControlFrame,
    /// A continuation frame with no message in progress. 1002.
    UnexpectedContinuation,
    /// A new text/binary frame while a fragmented message is in progress. 1002.
    ExpectedContinuation,
    /// A frame whose payload exceeds the configured maximum frame size. 1009.
    FrameTooLarge,
    /// A message whose total payload exceeds the configured maximum. 1009.
    MessageTooLarge,
    /// A message split into more fragments than the configured maximum. 1009.
    TooManyFragments,
    /// A text message (or close reason) that is not valid UTF-8. 1007.
    InvalidUtf8,
    /// A close frame with a one-byte payload. 1002.
    CloseFrameLengthOne,
    /// A close frame carrying a code that must not appear on the wire. 1002.
    InvalidCloseCode(u16),
}

impl Error {
    /// The HTTP status this error is answered with, for handshake errors found
    /// by the server; `None` for everything else.
    pub fn http_status(&self) -> Option<u16> {
        use Error::*;
        Some(match self {
            MalformedRequest | HttpVersionTooOld | MissingHost | InvalidKey => 400,
            HeadersTooLarge | TooManyHeaders => 431,
            MethodNotGet => 405,
            NotAnUpgrade | UnsupportedVersion => 426,
            _ => return None,
        })
    }

    /// The close code this error is answered with, for errors found after the
    /// upgrade; `None` for handshake errors.
    pub fn close_code(&self) -> Option<CloseCode> {
        use Error::*;
        Some(match self {
            UnmaskedFrame
            | MaskedFrame
            | ReservedBitsSet
            | ReservedOpcode(_)
            | LengthTopBitSet
            | ControlFrameTooLong
            | FragmentedControlFrame
            | UnexpectedContinuation
            | ExpectedContinuation
            | CloseFrameLengthOne
            | InvalidCloseCode(_) => CloseCode::PROTOCOL_ERROR,
            FrameTooLarge | MessageTooLarge | TooManyFragments => CloseCode::MESSAGE_TOO_BIG,
            InvalidUtf8 => CloseCode::INVALID_PAYLOAD,
            _ => return None,
        })
    }

    /// A short, stable, machine-friendly name (used as a metrics label).
    pub fn kind(&self) -> &'static str {
        use Error::*;
        match self {
            MalformedRequest => "malformed_request",
            HeadersTooLarge => "headers_too_large",
            TooManyHeaders => "too_many_headers",
            MethodNotGet => "method_not_get",
            HttpVersionTooOld => "http_version_too_old",
            MissingHost => "missing_host",
            NotAnUpgrade => "not_an_upgrade",
            UnsupportedVersion => "unsupported_version",
            InvalidKey => "invalid_key",
            MalformedResponse => "malformed_response",
            UnexpectedStatus(_) => "unexpected_status",
            ResponseNotAnUpgrade => "response_not_an_upgrade",
            AcceptMismatch => "accept_mismatch",
            UnrequestedSubprotocol => "unrequested_subprotocol",
            UnrequestedExtension => "unrequested_extension",
            UnmaskedFrame => "unmasked_frame",
            MaskedFrame => "masked_frame",
            ReservedBitsSet => "reserved_bits_set",
            ReservedOpcode(_) => "reserved_opcode",
            LengthTopBitSet => "length_top_bit_set",
            ControlFrameTooLong => "control_frame_too_long",
            FragmentedControlFrame => "fragmented_control_frame",
            UnexpectedContinuation => "unexpected_continuation",
            ExpectedContinuation => "expected_continuation",
            FrameTooLarge => "frame_too_large",
            MessageTooLarge => "message_too_large",
            TooManyFragments => "too_many_fragments",
            InvalidUtf8 => "invalid_utf8",
            CloseFrameLengthOne => "close_frame_length_one",
            InvalidCloseCode(_) => "invalid_close_code",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use Error::*;
        match self {
            MalformedRequest => f.write_str("client sent a malformed HTTP request"),
            HeadersTooLarge => f.write_str("client sent a request head over the size limit"),
            TooManyHeaders => f.write_str("client sent more headers than the limit"),
            MethodNotGet => f.write_str("client used a method other than GET"),
            HttpVersionTooOld => f.write_str("client used HTTP/1.0 (WebSocket needs HTTP/1.1)"),
            MissingHost => f.write_str("client sent no Host header"),
            NotAnUpgrade => {
                f.write_str("client did not ask for a WebSocket upgrade (Upgrade: websocket, Connection: upgrade)")
            }
            UnsupportedVersion => f.write_str("client did not offer Sec-WebSocket-Version: 13"),
            InvalidKey => f.write_str("client sent no valid Sec-WebSocket-Key (base64 of 16 bytes)"),
            MalformedResponse => f.write_str("server sent a malformed HTTP response"),
            UnexpectedStatus(status) => write!(f, "server answered {status} instead of 101"),
            ResponseNotAnUpgrade => f.write_str("server's 101 lacks Upgrade: websocket or Connection: upgrade"),
            AcceptMismatch => f.write_str("server's Sec-WebSocket-Accept does not match our key"),
            UnrequestedSubprotocol => f.write_str("server selected a subprotocol we did not offer"),
            UnrequestedExtension => f.write_str("server enabled an extension we did not offer"),
            UnmaskedFrame => f.write_str("peer sent an unmasked frame (client frames must be masked)"),
            MaskedFrame => f.write_str("peer sent a masked frame (server frames must not be masked)"),
            ReservedBitsSet => f.write_str("peer set RSV bits no negotiated extension defines"),
            ReservedOpcode(op) => write!(f, "peer sent reserved opcode {op:#x}"),
            LengthTopBitSet => f.write_str("peer sent a 64-bit length with its top bit set"),
            ControlFrameTooLong => f.write_str("peer sent a control frame over 125 bytes"),
            FragmentedControlFrame => f.write_str("peer sent a fragmented control frame"),
            UnexpectedContinuation => f.write_str("peer sent a continuation frame with no message in progress"),
            ExpectedContinuation => f.write_str("peer started a new message before finishing the fragmented one"),
            FrameTooLarge => f.write_str("peer sent a frame over the size limit"),
            MessageTooLarge => f.write_str("peer sent a message over the size limit"),
            TooManyFragments => f.write_str("peer split a message into more fragments than the limit"),
            InvalidUtf8 => f.write_str("peer sent text that is not valid UTF-8"),
            CloseFrameLengthOne => f.write_str("peer sent a close frame with a one-byte payload"),
            InvalidCloseCode(code) => write!(f, "peer sent close code {code}, which is not allowed on the wire"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Error; 30] = [
        Error::MalformedRequest,
        Error::HeadersTooLarge,
        Error::TooManyHeaders,
        Error::MethodNotGet,
        Error::HttpVersionTooOld,
        Error::MissingHost,
        Error::NotAnUpgrade,
        Error::UnsupportedVersion,
        Error::InvalidKey,
        Error::MalformedResponse,
        Error::UnexpectedStatus(404),
        Error::ResponseNotAnUpgrade,
        Error::AcceptMismatch,
        Error::UnrequestedSubprotocol,
        Error::UnrequestedExtension,
        Error::UnmaskedFrame,
        Error::MaskedFrame,
        Error::ReservedBitsSet,
        Error::ReservedOpcode(3),
        Error::LengthTopBitSet,
        Error::ControlFrameTooLong,
        Error::FragmentedControlFrame,
        Error::UnexpectedContinuation,
        Error::ExpectedContinuation,
        Error::FrameTooLarge,
        Error::MessageTooLarge,
        Error::TooManyFragments,
        Error::InvalidUtf8,
        Error::CloseFrameLengthOne,
        Error::InvalidCloseCode(1005),
    ];

    #[test]
    fn server_handshake_errors_have_a_status_and_frame_errors_a_close_code() {
        for (i, error) in ALL.iter().enumerate() {
            let server_handshake = i < 9;
            let client_handshake = (9..15).contains(&i);
            assert_eq!(error.http_status().is_some(), server_handshake, "{error:?}");
            assert_eq!(
                error.close_code().is_some(),
                !server_handshake && !client_handshake,
                "{error:?}"
            );
        }
    }

    #[test]
    fn statuses_match_rfc_6455_section_4() {
        assert_eq!(Error::MethodNotGet.http_status(), Some(405));
        assert_eq!(Error::HeadersTooLarge.http_status(), Some(431));
        assert_eq!(Error::TooManyHeaders.http_status(), Some(431));
        assert_eq!(Error::NotAnUpgrade.http_status(), Some(426));
        assert_eq!(Error::UnsupportedVersion.http_status(), Some(426));
        assert_eq!(Error::InvalidKey.http_status(), Some(400));
    }

    #[test]
    fn close_codes_match_rfc_6455_section_7() {
        assert_eq!(
            Error::UnmaskedFrame.close_code(),
            Some(CloseCode::PROTOCOL_ERROR)
        );
        assert_eq!(
            Error::FrameTooLarge.close_code(),
            Some(CloseCode::MESSAGE_TOO_BIG)
        );
        assert_eq!(
            Error::TooManyFragments.close_code(),
            Some(CloseCode::MESSAGE_TOO_BIG)
        );
        assert_eq!(
            Error::InvalidUtf8.close_code(),
            Some(CloseCode::INVALID_PAYLOAD)
        );
        assert_eq!(
            Error::InvalidCloseCode(0).close_code(),
            Some(CloseCode::PROTOCOL_ERROR)
        );
    }

    #[test]
    fn kinds_are_unique_snake_case_labels() {
        let mut kinds: Vec<_> = ALL.iter().map(Error::kind).collect();
        assert!(kinds.iter().all(|k| k
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')));
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), ALL.len());
    }

    #[test]
    fn display_names_who_is_at_fault() {
        for (i, error) in ALL.iter().enumerate() {
            let text = error.to_string();
            let culprit = match i {
                0..=8 => "client",
                9..=14 => "server",
                _ => "peer",
            };
            assert!(text.starts_with(culprit), "{text}");
        }
        assert_eq!(
            Error::UnmaskedFrame.to_string(),
            "peer sent an unmasked frame (client frames must be masked)"
        );
    }
}
