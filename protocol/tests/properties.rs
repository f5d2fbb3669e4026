//! Property tests: the codec round-trips, decoding does not depend on how the
//! input is split, and the fast mask agrees with the reference.

use proptest::prelude::*;
use ringcast_protocol::frame::{encode, Decoded, FrameDecoder, OpCode, Role};
use ringcast_protocol::mask::{apply_mask, apply_mask_bytewise};
use ringcast_protocol::utf8::Utf8Validator;
use ringcast_protocol::{Error, MessageLimits, OwnedMessage, Received, Receiver};

const LIMITS: MessageLimits = MessageLimits {
    max_message_size: 1 << 16,
    max_fragments: 64,
};

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Server), Just(Role::Client)]
}

/// The mask a sender to a decoder of `role` must use.
fn sender_mask(role: Role, key: [u8; 4]) -> Option<[u8; 4]> {
    match role {
        Role::Server => Some(key),
        Role::Client => None,
    }
}

/// Any valid single frame: opcode, fin, payload (control frames short and final).
fn frame() -> impl Strategy<Value = (OpCode, bool, Vec<u8>)> {
    let data = (
        prop_oneof![
            Just(OpCode::Text),
            Just(OpCode::Binary),
            Just(OpCode::Continuation)
        ],
        any::<bool>(),
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..130),
            proptest::collection::vec(any::<u8>(), 65530..65540),
        ],
    );
    let control = (
        prop_oneof![Just(OpCode::Ping), Just(OpCode::Pong), Just(OpCode::Close)],
        Just(true),
        proptest::collection::vec(any::<u8>(), 0..=125),
    );
    prop_oneof![4 => data, 1 => control]
}

/// One step of a valid conversation: a message split into fragments with
/// control frames between them.
#[derive(Debug, Clone)]
enum Step {
    Data { text: bool, pieces: Vec<Vec<u8>> },
    Ping(Vec<u8>),
    Close(u16, String),
}

fn step() -> impl Strategy<Value = Step> {
    let text = (".{0,40}", 1..5usize).prop_map(|(s, n): (String, usize)| {
        // Split on byte positions, code points included: the assembler must
        // carry incomplete UTF-8 across fragments.
        let bytes = s.into_bytes();
        let pieces = if bytes.is_empty() {
            vec![bytes]
        } else {
            bytes
                .chunks(bytes.len().div_ceil(n))
                .map(<[u8]>::to_vec)
                .collect()
        };
        Step::Data { text: true, pieces }
    });
    let binary = proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..5)
        .prop_map(|pieces| Step::Data {
            text: false,
            pieces,
        });
    let ping = proptest::collection::vec(any::<u8>(), 0..=125).prop_map(Step::Ping);
    let close = (
        prop_oneof![Just(1000u16), Just(1001), Just(3000), Just(4999)],
        "[a-z ]{0,20}",
    )
        .prop_map(|(code, reason)| Step::Close(code, reason));
    prop_oneof![3 => text, 3 => binary, 2 => ping, 1 => close]
}

/// Encode the steps as a byte stream; pings go between fragments.
fn encode_steps(steps: &[Step], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pending_pings = Vec::new();
    for step in steps {
        match step {
            Step::Ping(p) => pending_pings.push(p.clone()),
            Step::Close(code, reason) => {
                let mut payload = code.to_be_bytes().to_vec();
                payload.extend_from_slice(reason.as_bytes());
                out.extend_from_slice(&encode(OpCode::Close, true, &payload, mask));
            }
            Step::Data { text, pieces } => {
                for (i, piece) in pieces.iter().enumerate() {
                    let opcode = match (i, text) {
                        (0, true) => OpCode::Text,
                        (0, false) => OpCode::Binary,
                        _ => OpCode::Continuation,
                    };
                    out.extend_from_slice(&encode(opcode, i + 1 == pieces.len(), piece, mask));
                    if let Some(p) = pending_pings.pop() {
                        out.extend_from_slice(&encode(OpCode::Ping, true, &p, mask));
                    }
                }
            }
        }
    }
    out
}

/// Feed `stream` to a fresh receiver in the given chunk sizes, keeping
/// unconsumed bytes between chunks; returns every message in order.
fn receive_in_chunks(
    role: Role,
    stream: &[u8],
    chunks: &[usize],
) -> Result<Vec<OwnedMessage>, Error> {
    let mut rx = Receiver::new(role, LIMITS);
    let mut pending: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    let mut fed = 0;
    let mut chunk_sizes = chunks.iter().copied().cycle();
    while fed < stream.len() {
        let n = chunk_sizes
            .next()
            .unwrap_or(stream.len())
            .clamp(1, stream.len() - fed);
        pending.extend_from_slice(&stream[fed..fed + n]);
        fed += n;
        let mut start = 0;
        loop {
            match rx.receive(&mut pending[start..])? {
                Received::NeedMore(more) => {
                    assert!(more >= 1);
                    break;
                }
                Received::Frame { message, consumed } => {
                    out.extend(message.map(OwnedMessage::from));
                    start += consumed;
                }
            }
        }
        pending.drain(..start);
    }
    assert!(pending.is_empty(), "a whole stream leaves nothing behind");
    Ok(out)
}

proptest! {
    #[test]
    fn encoded_frame_decodes_to_itself(role in role(), (opcode, fin, payload) in frame(), key in any::<[u8; 4]>()) {
        let mask = sender_mask(role, key);
        let mut wire = encode(opcode, fin, &payload, mask).to_vec();
        let decoder = FrameDecoder::new(role, u64::MAX);
        let Ok(Decoded::Frame { header, payload: decoded, consumed }) = decoder.decode(&mut wire) else {
            panic!("frame did not decode");
        };
        prop_assert_eq!(consumed, header.encoded_len() + payload.len());
        prop_assert_eq!(header.opcode, opcode);
        prop_assert_eq!(header.fin, fin);
        prop_assert_eq!(header.mask, mask);
        prop_assert_eq!(header.payload_len, payload.len() as u64);
        prop_assert_eq!(decoded, &payload[..]);
    }

    #[test]
    fn decoding_does_not_depend_on_split_points(
        role in role(),
        steps in proptest::collection::vec(step(), 1..12),
        key in any::<[u8; 4]>(),
        chunks in proptest::collection::vec(1..200usize, 1..20),
    ) {
        let stream = encode_steps(&steps, sender_mask(role, key));
        let whole = receive_in_chunks(role, &stream, &[stream.len()]).unwrap();
        prop_assert_eq!(receive_in_chunks(role, &stream, &chunks).unwrap(), whole.clone());
        prop_assert_eq!(receive_in_chunks(role, &stream, &[1]).unwrap(), whole);
    }

    #[test]
    fn fast_and_bytewise_unmasking_agree(
        data in proptest::collection::vec(any::<u8>(), 0..5000),
        key in any::<[u8; 4]>(),
        offset in 0usize..1000,
    ) {
        let mut fast = data.clone();
        let mut slow = data;
        apply_mask(&mut fast, key, offset);
        apply_mask_bytewise(&mut slow, key, offset);
        prop_assert_eq!(fast, slow);
    }

    #[test]
    fn incremental_utf8_agrees_with_std_whatever_the_split(
        bytes in prop_oneof![
            ".{0,30}".prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..30),
        ],
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..5),
    ) {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        cuts.sort_unstable();
        let mut validator = Utf8Validator::new();
        let mut start = 0;
        let mut ok = true;
        for cut in cuts.into_iter().chain(std::iter::once(bytes.len())) {
            ok &= validator.feed(&bytes[start..cut]).is_ok();
            start = cut;
            if !ok {
                // Fail fast: std agrees the text up to here cannot be completed.
                prop_assert!(std::str::from_utf8(&bytes[..cut]).is_err_and(|e| e.error_len().is_some()));
                break;
            }
        }
        ok &= validator.finish().is_ok();
        prop_assert_eq!(ok, std::str::from_utf8(&bytes).is_ok());
    }
}
