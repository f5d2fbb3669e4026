//! What both peers share: flags, the listener, and the room table.
//!
//! Every server here runs on one thread (tokio's current_thread runtime, a
//! `LocalSet` for `!Send` tasks), like `ringcast --shards 1`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::UnboundedSender;

/// `--port N` (default 9001); the servers listen on 127.0.0.1.
pub fn port_from_args() -> u16 {
    let args: Vec<String> = std::env::args().collect();
    let mut port = 9001;
    let mut i = 1;
    while i < args.len() {
        if args[i] == "--port" && i + 1 < args.len() {
            port = args[i + 1].parse().expect("--port takes a number");
            i += 1;
        }
        i += 1;
    }
    port
}

/// Listen on 127.0.0.1:`--port` and run `serve` as a local task for every
/// accepted connection (TCP_NODELAY set), on one current_thread runtime,
/// forever. `name` is what the startup line calls the server.
pub fn serve_forever<M, F, Fut>(name: &str, serve: F)
where
    M: Clone + 'static,
    F: Fn(TcpStream, SharedRooms<M>) -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    let port = port_from_args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        eprintln!("{name} listening on 127.0.0.1:{port}");
        let rooms: SharedRooms<M> = Rooms::shared();
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("accept: {e}");
                    tokio::task::yield_now().await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            tokio::task::spawn_local(serve(stream, rooms.clone()));
        }
    });
}

/// The route of an upgrade request's path.
pub enum Route {
    Echo,
    Room(String),
}

pub fn route(path: &str) -> Option<Route> {
    if path == "/echo" {
        Some(Route::Echo)
    } else {
        path.strip_prefix("/room/")
            .filter(|name| !name.is_empty())
            .map(|name| Route::Room(name.to_owned()))
    }
}

/// Room name → its members' outbound queues (id, sender). One thread owns it.
pub struct Rooms<M> {
    next_id: u64,
    rooms: HashMap<String, Vec<(u64, UnboundedSender<M>)>>,
}

pub type SharedRooms<M> = Rc<RefCell<Rooms<M>>>;

impl<M: Clone> Rooms<M> {
    pub fn shared() -> SharedRooms<M> {
        Rc::new(RefCell::new(Rooms {
            next_id: 0,
            rooms: HashMap::new(),
        }))
    }

    pub fn join(&mut self, room: &str, tx: UnboundedSender<M>) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.rooms
            .entry(room.to_owned())
            .or_default()
            .push((id, tx));
        id
    }

    pub fn leave(&mut self, room: &str, id: u64) {
        if let Some(members) = self.rooms.get_mut(room) {
            members.retain(|(m, _)| *m != id);
            if members.is_empty() {
                self.rooms.remove(room);
            }
        }
    }

    /// Queue `msg` for every member, the sender included.
    pub fn publish(&self, room: &str, msg: &M) {
        if let Some(members) = self.rooms.get(room) {
            for (_, tx) in members {
                let _ = tx.send(msg.clone());
            }
        }
    }
}
