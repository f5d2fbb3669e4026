//! Server side of the opening handshake on a browser's upgrade request:
//! parsing alone, and the whole accept path (parse, validate, 101 response).
//!
//! fastwebsockets has no parse path of its own (its server upgrade takes a
//! request hyper already parsed, with httparse underneath), so raw httparse
//! stands in as the floor: the tokenising every side here builds on.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ringcast_benches::{BROWSER_UPGRADE_ACCEPT, BROWSER_UPGRADE_REQUEST as REQUEST};
use ringcast_protocol::handshake::server::{
    parse_request, write_accept, ParsedRequest, Request, RequestLimits,
};
use tungstenite::handshake::machine::TryParse;
use tungstenite::handshake::server as tung;

fn ringcast_parse(limits: &RequestLimits) -> Request {
    match parse_request(REQUEST, limits) {
        Ok(ParsedRequest::Complete(req, n)) if n == REQUEST.len() => req,
        other => panic!("ringcast parse: {other:?}"),
    }
}

fn tungstenite_parse() -> tung::Request {
    match tung::Request::try_parse(REQUEST) {
        Ok(Some((n, req))) if n == REQUEST.len() => req,
        other => panic!("tungstenite parse: {other:?}"),
    }
}

/// httparse alone, borrowing from the input: no owned request, no checks.
fn httparse_parse() -> usize {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(REQUEST) {
        Ok(httparse::Status::Complete(n)) => {
            black_box(&req);
            n
        }
        other => panic!("httparse: {other:?}"),
    }
}

/// Parse the head into an owned request (ringcast: `Request`; tungstenite:
/// `http::Request` with a `HeaderMap`), no WebSocket checks.
fn handshake_parse(c: &mut Criterion) {
    let limits = RequestLimits::default();
    assert_eq!(ringcast_parse(&limits).headers.len(), 12);
    assert_eq!(tungstenite_parse().headers().len(), 12);
    assert_eq!(httparse_parse(), REQUEST.len());

    let mut group = c.benchmark_group("handshake-parse");
    group.throughput(Throughput::Bytes(REQUEST.len() as u64));
    group.bench_function("ringcast", |b| {
        b.iter(|| ringcast_parse(black_box(&limits)))
    });
    group.bench_function("tungstenite", |b| b.iter(tungstenite_parse));
    group.bench_function("httparse", |b| b.iter(httparse_parse));
    group.finish();
}

/// Everything a server does with the request before it switches protocols:
/// parse, apply the RFC 6455 4.2.1 checks, derive the accept key (SHA-1 +
/// base64), write the 101 response into a reused buffer.
fn handshake_accept(c: &mut Criterion) {
    let limits = RequestLimits::default();
    let ringcast = |out: &mut Vec<u8>| {
        out.clear();
        let upgrade = ringcast_parse(&limits)
            .validate_upgrade()
            .expect("ringcast validate");
        write_accept(out, &upgrade.key, None, None);
    };
    let tungstenite = |out: &mut Vec<u8>| {
        out.clear();
        let response = tung::create_response(&tungstenite_parse()).expect("tungstenite validate");
        tung::write_response(&mut *out, &response).expect("tungstenite write");
    };

    let expect = format!("sec-websocket-accept: {BROWSER_UPGRADE_ACCEPT}\r\n").to_ascii_lowercase();
    for (who, accept) in [
        ("ringcast", &ringcast as &dyn Fn(&mut Vec<u8>)),
        ("tungstenite", &tungstenite),
    ] {
        let mut out = Vec::new();
        accept(&mut out);
        let text = String::from_utf8(out).unwrap().to_ascii_lowercase();
        assert!(text.starts_with("http/1.1 101 "), "{who}: {text}");
        assert!(text.contains(&expect), "{who}: {text}");
        assert!(text.ends_with("\r\n\r\n"), "{who}: {text}");
    }

    let mut group = c.benchmark_group("handshake-accept");
    group.throughput(Throughput::Bytes(REQUEST.len() as u64));
    let mut out = Vec::with_capacity(256);
    group.bench_function("ringcast", |b| b.iter(|| ringcast(black_box(&mut out))));
    group.bench_function("tungstenite", |b| {
        b.iter(|| tungstenite(black_box(&mut out)))
    });
    group.finish();
}

criterion_group!(benches, handshake_parse, handshake_accept);
criterion_main!(benches);
