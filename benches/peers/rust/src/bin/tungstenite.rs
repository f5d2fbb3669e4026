//! tokio-tungstenite peer: `/echo` and `/room/<name>` (sender included), one
//! thread (tokio current_thread runtime). Binary stays binary, text stays
//! text, payloads untouched.
//!
//! Echo: one task per connection; replies are fed to the sink and flushed
//! once no further message is already readable (so a burst of requests
//! leaves in one write, as ringcast does). Rooms: the stream is split; a
//! writer task per member drains an unbounded queue the same way.

#[path = "../common.rs"]
mod common;

use common::{route, Route, SharedRooms};
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

fn main() {
    common::serve_forever("peer-tungstenite", serve);
}

// The large error is tungstenite's: its accept callback must return
// `Result<Response, ErrorResponse>`.
#[allow(clippy::result_large_err)]
async fn serve(stream: TcpStream, rooms: SharedRooms<Message>) {
    let mut path = String::new();
    let callback = |req: &Request, resp: Response| {
        path = req.uri().path().to_owned();
        Ok(resp)
    };
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(1 << 20);
    let ws = match tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config))
        .await
    {
        Ok(ws) => ws,
        Err(_) => return,
    };
    match route(&path) {
        Some(Route::Echo) => echo(ws).await,
        Some(Route::Room(name)) => room(ws, name, rooms).await,
        None => {}
    }
}

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

async fn echo(mut ws: Ws) {
    loop {
        // Take what is already readable without waiting; flush before waiting.
        let next = match ws.next().now_or_never() {
            Some(next) => next,
            None => {
                if ws.flush().await.is_err() {
                    return;
                }
                ws.next().await
            }
        };
        match next {
            Some(Ok(msg @ (Message::Binary(_) | Message::Text(_)))) => {
                if ws.feed(msg).await.is_err() {
                    return;
                }
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                let _ = ws.flush().await;
                return;
            }
            Some(Ok(_)) => {} // ping/pong: tungstenite answers pings itself
        }
    }
}

async fn room(ws: Ws, name: String, rooms: SharedRooms<Message>) {
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let id = rooms.borrow_mut().join(&name, tx);
    let writer = tokio::task::spawn_local(async move {
        while let Some(msg) = rx.recv().await {
            if sink.feed(msg).await.is_err() {
                return None;
            }
            while let Ok(msg) = rx.try_recv() {
                if sink.feed(msg).await.is_err() {
                    return None;
                }
            }
            if sink.flush().await.is_err() {
                return None;
            }
        }
        Some(sink)
    });
    while let Some(Ok(msg)) = stream.next().await {
        match msg {
            Message::Binary(_) | Message::Text(_) => rooms.borrow().publish(&name, &msg),
            Message::Close(_) => break,
            _ => {}
        }
    }
    // Leaving drops the room's sender: the writer sends what is queued, then
    // hands the sink back to finish the closing handshake (tungstenite has
    // queued its close reply; `close` sends it, or ours, and flushes).
    rooms.borrow_mut().leave(&name, id);
    if let Ok(Some(mut sink)) = writer.await {
        let _ = sink.close().await;
    }
}
