//! Routing of the one port: which requests become WebSockets, which get a
//! plain answer. Pure functions of the parsed request, so every route and
//! every refusal is unit-tested without sockets.

use std::net::IpAddr;

use ringcast_protocol::handshake::server::Request;
use ringcast_protocol::Error;

use crate::metrics::Counter;

/// Longest room name accepted in `/room/<name>`.
pub const MAX_ROOM_NAME: usize = 128;

/// A WebSocket endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `/echo`: every data message comes back to its sender.
    Echo,
    /// `/room/<name>`: every data message goes to every member.
    Room {
        /// The room name, as in the path.
        name: String,
        /// Whether the sender receives its own messages (`?echo=false` turns it off).
        echo_self: bool,
    },
}

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// Upgrade to a WebSocket on this endpoint (the upgrade rules are still
    /// to be checked).
    WebSocket(Endpoint),
    /// `/healthz`.
    Health,
    /// `/metrics`.
    Metrics,
    /// `/whoami`: the client address as the engine sees it (proxy debugging).
    WhoAmI,
    /// Anything else.
    NotFound,
}

/// Map a request path (and query) to a route.
pub fn route(request: &Request) -> Route {
    match request.path.as_str() {
        "/echo" => Route::WebSocket(Endpoint::Echo),
        "/healthz" => Route::Health,
        "/metrics" => Route::Metrics,
        "/whoami" => Route::WhoAmI,
        path => match path.strip_prefix("/room/") {
            Some(name) if is_valid_room_name(name) => Route::WebSocket(Endpoint::Room {
                name: name.to_owned(),
                echo_self: !query_flag_is_false(request.query.as_deref(), "echo"),
            }),
            _ => Route::NotFound,
        },
    }
}

fn is_valid_room_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_ROOM_NAME && !name.contains('/')
}

fn query_flag_is_false(query: Option<&str>, flag: &str) -> bool {
    query.is_some_and(|query| {
        query.split('&').any(|pair| {
            pair.split_once('=')
                .is_some_and(|(k, v)| k == flag && (v == "false" || v == "0"))
        })
    })
}

/// The metric counting a refused upgrade.
pub fn handshake_failure_counter(error: &Error) -> Counter {
    match error {
        Error::HeadersTooLarge | Error::TooManyHeaders => Counter::HsTooLarge,
        Error::MethodNotGet => Counter::HsMethod,
        Error::HttpVersionTooOld | Error::MissingHost => Counter::HsBadRequest,
        Error::NotAnUpgrade => Counter::HsNotUpgrade,
        Error::UnsupportedVersion => Counter::HsVersion,
        Error::InvalidKey => Counter::HsKey,
        _ => Counter::HsMalformed,
    }
}

/// The client's address for accounting: the last X-Forwarded-For hop when
/// the TCP peer is a trusted proxy, the TCP peer otherwise.
pub fn client_address(peer: IpAddr, request: &Request, trusted_proxies: &[IpAddr]) -> IpAddr {
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    request
        .header("x-forwarded-for")
        .and_then(|value| std::str::from_utf8(value).ok())
        .and_then(|value| value.rsplit(',').next())
        .and_then(|last| last.trim().parse().ok())
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str, query: Option<&str>, headers: &[(&str, &str)]) -> Request {
        Request {
            method: "GET".into(),
            path: path.into(),
            query: query.map(Into::into),
            http_minor: 1,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).into(), v.as_bytes().to_vec()))
                .collect(),
        }
    }

    #[test]
    fn room_path_routes_with_sender_included_by_default() {
        assert_eq!(
            route(&get("/room/lobby", None, &[])),
            Route::WebSocket(Endpoint::Room {
                name: "lobby".into(),
                echo_self: true
            })
        );
        assert_eq!(
            route(&get("/room/lobby", Some("x=1&echo=false"), &[])),
            Route::WebSocket(Endpoint::Room {
                name: "lobby".into(),
                echo_self: false
            })
        );
    }

    #[test]
    fn empty_nested_or_overlong_room_names_are_not_found() {
        assert_eq!(route(&get("/room/", None, &[])), Route::NotFound);
        assert_eq!(route(&get("/room/a/b", None, &[])), Route::NotFound);
        assert_eq!(
            route(&get(&format!("/room/{}", "x".repeat(129)), None, &[])),
            Route::NotFound
        );
        assert_eq!(route(&get("/nope", None, &[])), Route::NotFound);
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let request = get(
            "/whoami",
            None,
            &[("X-Forwarded-For", "198.51.100.7, 203.0.113.9")],
        );
        assert_eq!(client_address(proxy, &request, &[]), proxy);
        assert_eq!(
            client_address(proxy, &request, &[proxy]),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        let garbage = get("/whoami", None, &[("X-Forwarded-For", "not-an-ip")]);
        assert_eq!(client_address(proxy, &garbage, &[proxy]), proxy);
    }
}
