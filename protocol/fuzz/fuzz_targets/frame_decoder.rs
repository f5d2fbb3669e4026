//! The frame decoder over arbitrary bytes, both roles: never panics, consumes
//! exactly header + payload, and every frame it accepts re-encodes to a frame
//! that decodes to the same header fields and payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringcast_protocol::frame::{encode, Decoded, FrameDecoder, Role};

fuzz_target!(|data: &[u8]| {
    let Some((&config, rest)) = data.split_first() else {
        return;
    };
    let role = if config & 1 == 0 {
        Role::Server
    } else {
        Role::Client
    };
    let decoder = FrameDecoder {
        role,
        max_frame_size: if config & 2 == 0 { 1 << 16 } else { 125 },
        allowed_rsv: (config >> 2) & 0b111,
    };
    let mut buf = rest.to_vec();
    let mut start = 0;
    while start < buf.len() {
        let available = buf.len() - start;
        let (header, payload, consumed) = match decoder.decode(&mut buf[start..]) {
            Ok(Decoded::Frame {
                header,
                payload,
                consumed,
            }) => (header, payload.to_vec(), consumed),
            Ok(Decoded::NeedMore(more)) => {
                assert!(more >= 1);
                // The header parses alone (or not) consistently with decode.
                let parsed = decoder.parse_header(&buf[start..]);
                assert!(parsed.is_ok());
                break;
            }
            Err(error) => {
                assert!(error.close_code().is_some(), "{error:?}");
                break;
            }
        };
        assert!(consumed <= available);
        assert_eq!(
            consumed as u64,
            (consumed - payload.len()) as u64 + header.payload_len
        );
        assert!(header.payload_len <= decoder.max_frame_size);
        assert_eq!(header.rsv & !decoder.allowed_rsv, 0);
        assert_eq!(header.mask.is_some(), role == Role::Server);

        let mut again = encode(header.opcode, header.fin, &payload, header.mask).to_vec();
        if header.rsv != 0 {
            again[0] |= header.rsv << 4;
        }
        match decoder.decode(&mut again) {
            Ok(Decoded::Frame {
                header: h2,
                payload: p2,
                consumed: c2,
            }) => {
                assert_eq!(h2, header);
                assert_eq!(p2, &payload[..]);
                assert_eq!(c2, again.len());
            }
            other => panic!("re-encoded frame did not decode: {other:?}"),
        }
        start += consumed;
    }
});
