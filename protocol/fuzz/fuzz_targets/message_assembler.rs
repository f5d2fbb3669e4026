//! Decode + assemble over arbitrary bytes, both roles: never panics, and the
//! outcome (every message, then the first error or the leftover bytes) is the
//! same whether the input arrives whole or split at fuzzer-chosen points.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringcast_protocol::frame::Role;
use ringcast_protocol::{Error, Message, MessageLimits, Received, Receiver};

#[derive(Debug, PartialEq, Eq)]
enum Event {
    Fragment,
    Message(String),
}

fn describe(message: Option<Message<'_>>) -> Event {
    match message {
        None => Event::Fragment,
        Some(m) => Event::Message(format!("{m:?}")),
    }
}

/// Feed `stream` in chunks of the given sizes (cycled), keeping unconsumed
/// bytes; returns the events, the error if any, and the bytes left over.
fn run(
    role: Role,
    limits: MessageLimits,
    stream: &[u8],
    chunks: &[u8],
) -> (Vec<Event>, Option<Error>, usize) {
    let mut rx = Receiver::new(role, limits);
    let mut pending = Vec::new();
    let mut events = Vec::new();
    let mut sizes = chunks.iter().map(|&c| usize::from(c).max(1)).cycle();
    let mut fed = 0;
    while fed < stream.len() {
        let n = sizes.next().unwrap_or(stream.len()).min(stream.len() - fed);
        pending.extend_from_slice(&stream[fed..fed + n]);
        fed += n;
        let mut start = 0;
        loop {
            match rx.receive(&mut pending[start..]) {
                Ok(Received::NeedMore(more)) => {
                    assert!(more >= 1);
                    break;
                }
                Ok(Received::Frame { message, consumed }) => {
                    events.push(describe(message));
                    start += consumed;
                }
                Err(error) => {
                    assert!(error.close_code().is_some());
                    return (events, Some(error), 0);
                }
            }
        }
        pending.drain(..start);
        if !rx.is_partial() {
            rx.release();
        }
    }
    (events, None, pending.len())
}

fuzz_target!(|data: &[u8]| {
    let Some((&config, rest)) = data.split_first() else {
        return;
    };
    // The first few bytes choose chunk sizes; the rest is the stream.
    let split = rest.len().min(usize::from(config >> 4));
    let (chunks, stream) = rest.split_at(split);
    let role = if config & 1 == 0 {
        Role::Server
    } else {
        Role::Client
    };
    let limits = MessageLimits {
        max_message_size: if config & 2 == 0 { 1 << 12 } else { 64 },
        max_fragments: if config & 4 == 0 { 16 } else { 2 },
    };
    let whole = run(role, limits, stream, &[]);
    if !chunks.is_empty() {
        assert_eq!(run(role, limits, stream, chunks), whole);
    }
});
