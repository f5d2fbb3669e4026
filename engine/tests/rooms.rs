//! `/room/<name>`: every member on every shard receives every message, each
//! publisher's messages in the order it sent them; `?echo=false` leaves
//! out the sender only.

mod common;

use std::collections::HashMap;

use common::{ws_connect, ws_read_text, TestServer, Ws};
use tungstenite::Message;

const MEMBERS: usize = 40;
const PUBLISHERS: usize = 4;
const MESSAGES_PER_PUBLISHER: usize = 50;

#[test]
fn room_fans_out_across_shards_to_every_member_in_per_publisher_order() {
    let server = TestServer::start();
    let mut members: Vec<Ws> = (0..MEMBERS)
        .map(|_| ws_connect(server.addr(), "/room/fanout"))
        .collect();
    let [shard0, shard1] = server.connections_per_shard(MEMBERS as u64);
    assert!(
        shard0 > 0 && shard1 > 0,
        "members on both shards: {shard0} and {shard1}"
    );

    // The first members publish, each from its own thread, all at once.
    std::thread::scope(|scope| {
        for (publisher, ws) in members.iter_mut().take(PUBLISHERS).enumerate() {
            scope.spawn(move || {
                for seq in 0..MESSAGES_PER_PUBLISHER {
                    ws.send(Message::text(format!("{publisher}:{seq}")))
                        .expect("publish");
                }
            });
        }
    });

    for (index, member) in members.iter_mut().enumerate() {
        let mut next_seq: HashMap<usize, usize> = HashMap::new();
        for _ in 0..PUBLISHERS * MESSAGES_PER_PUBLISHER {
            let text = ws_read_text(member);
            let (publisher, seq) = text.split_once(':').expect("publisher:seq");
            let (publisher, seq): (usize, usize) =
                (publisher.parse().unwrap(), seq.parse().unwrap());
            let expected = next_seq.entry(publisher).or_default();
            assert_eq!(
                seq, *expected,
                "member {index}: publisher {publisher}'s messages out of order"
            );
            *expected += 1;
        }
        assert!(
            (0..PUBLISHERS).all(|p| next_seq.get(&p) == Some(&MESSAGES_PER_PUBLISHER)),
            "member {index} got {next_seq:?}"
        );
    }
}

#[test]
fn room_echo_false_leaves_out_the_sender_only() {
    let server = TestServer::start();
    let mut quiet = ws_connect(server.addr(), "/room/quiet?echo=false");
    let mut other_quiet = ws_connect(server.addr(), "/room/quiet?echo=false");
    let mut loud = ws_connect(server.addr(), "/room/quiet");
    let mut listener = ws_connect(server.addr(), "/room/quiet");

    quiet.send(Message::text("from quiet")).expect("send");
    assert_eq!(
        ws_read_text(&mut other_quiet),
        "from quiet",
        "echo=false still receives others"
    );
    assert_eq!(ws_read_text(&mut loud), "from quiet");
    assert_eq!(ws_read_text(&mut listener), "from quiet");

    // Every shard has handled "from quiet" by now, so had it been queued
    // for its sender it would come before this one.
    loud.send(Message::text("from loud")).expect("send");
    assert_eq!(
        ws_read_text(&mut quiet),
        "from loud",
        "the sender did not get its own message"
    );
    assert_eq!(
        ws_read_text(&mut loud),
        "from loud",
        "without echo=false the sender gets its own"
    );
    assert_eq!(ws_read_text(&mut other_quiet), "from loud");
    assert_eq!(ws_read_text(&mut listener), "from loud");
}

#[test]
fn room_members_leaving_in_any_order_leave_the_rest_subscribed() {
    let server = TestServer::start();
    let mut members: Vec<Option<Ws>> = (0..12)
        .map(|_| Some(ws_connect(server.addr(), "/room/churn")))
        .collect();
    // Leaving swaps the last member into the hole: leave from the front,
    // the middle and the end, in two rounds, checking delivery after each.
    for (round, leavers) in [[0, 5, 11, 2], [9, 1, 4, 7]].iter().enumerate() {
        for &leaver in leavers {
            members[leaver] = None; // TCP close without a close frame
        }
        let left = members.iter().flatten().count() as u64;
        server.connections_per_shard(left);
        let text = format!("round {round}");
        let publisher = members.iter_mut().flatten().next().expect("members remain");
        publisher
            .send(Message::text(text.clone()))
            .expect("publish");
        for member in members.iter_mut().flatten() {
            assert_eq!(ws_read_text(member), text);
        }
    }
    // Everyone leaves; the room is forgotten and a new one of the same name
    // starts from scratch.
    members.clear();
    server.connections_per_shard(0);
    let mut newcomers: Vec<Ws> = (0..6)
        .map(|_| ws_connect(server.addr(), "/room/churn"))
        .collect();
    newcomers[0].send(Message::text("fresh")).expect("publish");
    for member in &mut newcomers {
        assert_eq!(ws_read_text(member), "fresh");
    }
}
