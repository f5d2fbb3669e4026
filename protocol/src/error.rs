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
        unimplemented!()
    }

    /// The close code this error is answered with, for errors found after the
    /// upgrade; `None` for handshake errors.
    pub fn close_code(&self) -> Option<CloseCode> {
        unimplemented!()
    }

    /// A short, stable, machine-friendly name (used as a metrics label).
    pub fn kind(&self) -> &'static str {
        unimplemented!()
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        unimplemented!("{f:p}")
    }
}

impl std::error::Error for Error {}
