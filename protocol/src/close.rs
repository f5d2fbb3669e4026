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

    /// Whether this code may appear in a close frame on the wire:
    /// 1000-1003, 1007-1011, 3000-4999.
    pub fn is_valid_on_wire(self) -> bool {
        unimplemented!()
    }
}

/// Validate a received close frame payload: empty (no code), or a valid code
/// followed by a UTF-8 reason. Length 1 is a protocol error.
pub fn parse_close_payload(payload: &[u8]) -> Result<Option<(CloseCode, &str)>, Error> {
    unimplemented!("{payload:?}")
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
        unimplemented!("{code:?}")
    }

    /// The peer's close frame arrived with this (already validated) code.
    /// Returns the next state and the code to echo, if we must still send a
    /// close frame (the peer closed first).
    pub fn receive(self, peer_code: Option<CloseCode>) -> (CloseState, Option<CloseCode>) {
        unimplemented!("{peer_code:?}")
    }

    /// Whether data frames may still be sent in this state.
    pub fn can_send_data(self) -> bool {
        matches!(self, CloseState::Open)
    }
}
