//! Server and client handshake parsers over arbitrary bytes: never panic,
//! never report more bytes consumed than given, and every rejection has a
//! well-formed HTTP answer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringcast_protocol::handshake::client::{parse_response, ParsedResponse};
use ringcast_protocol::handshake::server::{
    parse_request, write_accept, write_reject, ParsedRequest, RequestLimits,
};
use ringcast_protocol::handshake::{parse_extensions, Extension};

fuzz_target!(|data: &[u8]| {
    // Small limits exercise the 431 paths on short inputs too.
    for limits in [
        RequestLimits::default(),
        RequestLimits {
            max_header_bytes: 128,
            max_headers: 4,
        },
    ] {
        match parse_request(data, &limits) {
            Ok(ParsedRequest::NeedMore) => assert!(data.len() <= limits.max_header_bytes),
            Ok(ParsedRequest::Complete(request, consumed)) => {
                assert!(consumed <= data.len() && consumed <= limits.max_header_bytes);
                let mut out = Vec::new();
                match request.validate_upgrade() {
                    Ok(upgrade) => write_accept(
                        &mut out,
                        &upgrade.key,
                        upgrade.protocols.first().map(String::as_str),
                        None,
                    ),
                    Err(error) => {
                        assert!(error.http_status().is_some(), "{error:?}");
                        write_reject(&mut out, &error);
                    }
                }
                assert!(out.ends_with(b"\r\n\r\n") || out.ends_with(b"\n"));
            }
            Err(error) => assert!(error.http_status().is_some(), "{error:?}"),
        }
    }

    match parse_response(
        data,
        "dGhlIHNhbXBsZSBub25jZQ==",
        &["chat"],
        &["permessage-deflate"],
    ) {
        Ok(ParsedResponse::Complete(_, consumed)) => assert!(consumed <= data.len()),
        Ok(ParsedResponse::NeedMore) => {}
        Err(error) => assert!(error.http_status().is_none(), "{error:?}"),
    }

    if let Ok(text) = std::str::from_utf8(data) {
        let mut extensions: Vec<Extension> = Vec::new();
        if parse_extensions(text, &mut extensions).is_ok() {
            assert!(extensions.iter().all(|e| !e.name.is_empty()));
        }
    }
});
