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

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(code: u16, reason: &[u8]) -> Vec<u8> {
        let mut out = code.to_be_bytes().to_vec();
        out.extend_from_slice(reason);
        out
    }

    #[test]
    fn close_codes_defined_by_rfc_6455_are_valid() {
        for code in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011] {
            assert_eq!(
                parse_close_payload(&payload(code, b"")),
                Ok(Some((CloseCode(code), ""))),
                "{code}"
            );
        }
    }

    #[test]
    fn iana_registered_1012_to_1014_are_accepted() {
        for code in [1012, 1013, 1014] {
            assert!(CloseCode(code).is_valid_on_wire(), "{code}");
        }
    }

    #[test]
    fn application_codes_3000_to_4999_are_valid() {
        for code in [3000, 3999, 4000, 4999] {
            assert!(CloseCode(code).is_valid_on_wire(), "{code}");
        }
    }

    #[test]
    fn reserved_local_and_unassigned_codes_are_invalid() {
        for code in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert_eq!(
                parse_close_payload(&payload(code, b"")),
                Err(Error::InvalidCloseCode(code)),
                "{code}"
            );
        }
    }

    #[test]
    fn close_payload_of_length_one_is_invalid() {
        assert_eq!(
            parse_close_payload(&[0x03]),
            Err(Error::CloseFrameLengthOne)
        );
    }

    #[test]
    fn empty_close_payload_has_no_code() {
        assert_eq!(parse_close_payload(&[]), Ok(None));
    }

    #[test]
    fn close_reason_must_be_utf8() {
        assert_eq!(
            parse_close_payload(&payload(1000, "bye ✓".as_bytes())),
            Ok(Some((CloseCode::NORMAL, "bye ✓")))
        );
        assert_eq!(
            parse_close_payload(&payload(1000, &[0xce, 0xba, 0xe1, 0xbd])),
            Err(Error::InvalidUtf8)
        );
    }

    #[test]
    fn we_close_first_then_peer_echoes() {
        let (state, write) = CloseState::Open.send(CloseCode::GOING_AWAY);
        assert_eq!(
            (state, write),
            (CloseState::CloseSent(CloseCode::GOING_AWAY), true)
        );
        assert!(!state.can_send_data());
        let (state, echo) = state.receive(Some(CloseCode::GOING_AWAY));
        assert_eq!(
            state,
            CloseState::Closed {
                peer_code: CloseCode::GOING_AWAY,
                we_initiated: true
            }
        );
        assert_eq!(echo, None);
    }

    #[test]
    fn peer_closes_first_and_we_echo_its_code() {
        let (state, echo) = CloseState::Open.receive(Some(CloseCode(4000)));
        assert_eq!(echo, Some(CloseCode(4000)));
        assert_eq!(
            state,
            CloseState::Closed {
                peer_code: CloseCode(4000),
                we_initiated: false
            }
        );
        assert_eq!(
            state.send(CloseCode::NORMAL),
            (state, false),
            "closed: nothing more is sent"
        );
    }

    #[test]
    fn peer_close_without_code_is_recorded_as_1005_and_echoed_as_1000() {
        let (state, echo) = CloseState::Open.receive(None);
        assert_eq!(echo, Some(CloseCode::NORMAL));
        assert_eq!(
            state,
            CloseState::Closed {
                peer_code: CloseCode::NO_STATUS,
                we_initiated: false
            }
        );
    }

    #[test]
    fn second_send_after_close_sent_writes_nothing() {
        let (state, _) = CloseState::Open.send(CloseCode::NORMAL);
        assert_eq!(
            state.send(CloseCode::PROTOCOL_ERROR),
            (CloseState::CloseSent(CloseCode::NORMAL), false)
        );
    }

    #[test]
    fn close_after_closed_is_ignored() {
        let (closed, _) = CloseState::Open.receive(None);
        assert_eq!(closed.receive(Some(CloseCode::NORMAL)), (closed, None));
    }

    #[test]
    fn only_open_may_send_data() {
        assert!(CloseState::Open.can_send_data());
        assert!(!CloseState::CloseSent(CloseCode::NORMAL).can_send_data());
    }
}
