//! Close codes, close payload validation (RFC 6455 5.5.1, 7.4) and the
//! closing handshake state machine.

use crate::error::Error;

/// A close status code (RFC 6455 7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: normal closure.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: endpoint going away (server shutdown, page navigation).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: protocol error.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: no status code present (never sent on the wire).
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: closed abnormally, no close frame (never sent on the wire).
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: payload data inconsistent with the message type (bad UTF-8).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: policy violation (e.g. slow consumer).
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: message too big.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: client expected an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: unexpected server condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: service restart (IANA registry, not in RFC 6455 itself).
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later (IANA registry).
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: bad gateway (IANA registry).
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: TLS handshake failure (never sent on the wire).
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Whether this code may appear in a close frame on the wire:
    /// 1000-1003, 1007-1014, 3000-4999.
    ///
    /// 1012-1014 are not in RFC 6455 but are registered with IANA and sent by
    /// real servers (restarts, overload), so rejecting them would turn a
    /// polite close into a protocol error. 1004-1006 and 1015 are reserved or
    /// local-only; 1016-2999 are unassigned and 0-999 unused, so both are
    /// rejected.
    pub fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

/// Validate a received close frame payload: empty (no code), or a valid code
/// followed by a UTF-8 reason. Length 1 is a protocol error.
pub fn parse_close_payload(payload: &[u8]) -> Result<Option<(CloseCode, &str)>, Error> {
    match payload {
        [] => Ok(None),
        [_] => Err(Error::CloseFrameLengthOne),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_valid_on_wire() {
                return Err(Error::InvalidCloseCode(code.0));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| Error::InvalidUtf8)?;
            Ok(Some((code, reason)))
        }
    }
}

/// The closing handshake, seen from one endpoint. Transitions consume the
/// state and return the next one, so a closed connection cannot send again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseState {
    /// Neither side has sent a close frame.
    Open,
    /// We sent a close frame first and wait for the peer's echo.
    CloseSent(CloseCode),
    /// The peer closed first and we echoed; the TCP connection may end.
    Closed {
        /// The code the peer sent (1005 when its close frame had no code).
        peer_code: CloseCode,
        /// True when we initiated the close.
        we_initiated: bool,
    },
}

impl CloseState {
    /// We decide to close with `code`. Returns the next state and whether a
    /// close frame must be written now (false when one was already sent).
    pub fn send(self, code: CloseCode) -> (CloseState, bool) {
        match self {
            CloseState::Open => (CloseState::CloseSent(code), true),
            other => (other, false),
        }
    }

    /// The peer's close frame arrived with this (already validated) code.
    /// Returns the next state and the code to echo, if we must still send a
    /// close frame (the peer closed first).
    ///
    /// The echo repeats the peer's code, as RFC 6455 5.5.1 suggests; when the
    /// peer's close carried no code, the echo is 1000 (1005 must never be
    /// sent on the wire).
    pub fn receive(self, peer_code: Option<CloseCode>) -> (CloseState, Option<CloseCode>) {
        let recorded = peer_code.unwrap_or(CloseCode::NO_STATUS);
        match self {
            CloseState::Open => (
                CloseState::Closed {
                    peer_code: recorded,
                    we_initiated: false,
                },
                Some(peer_code.unwrap_or(CloseCode::NORMAL)),
            ),
            CloseState::CloseSent(_) => (
                CloseState::Closed {
                    peer_code: recorded,
                    we_initiated: true,
                },
                None,
            ),
            closed @ CloseState::Closed { .. } => (closed, None),
        }
    }

    /// Whether data frames may still be sent in this state.
    pub fn can_send_data(self) -> bool {
        matches!(self, CloseState::Open)
    }
}
