// Gorilla WebSocket peer for benches/e2e/compare.sh: /echo and /room/<name>
// (the sender included), binary stays binary, payloads untouched. Run it with
// GOMAXPROCS=1 for the single-core comparison.
//
// Build (GOPATH mode, Debian's golang-github-gorilla-websocket-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o peer-gorilla main.go
package main

import (
	"flag"
	"log"
	"net/http"
	"strings"
	"sync"

	"github.com/gorilla/websocket"
)

var upgrader = websocket.Upgrader{
	// Buffer sizes 0: reuse the HTTP server's 4 KiB bufio buffers (the default).
	CheckOrigin: func(*http.Request) bool { return true },
}

const maxMessage = 1 << 20

// member is one connection of a room: its queue, drained by its writer.
type member struct {
	send chan *websocket.PreparedMessage
}

type rooms struct {
	mu    sync.RWMutex
	rooms map[string]map[*member]struct{}
}

func (r *rooms) join(name string, m *member) {
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.rooms[name]
	if set == nil {
		set = make(map[*member]struct{})
		r.rooms[name] = set
	}
	set[m] = struct{}{}
}

func (r *rooms) leave(name string, m *member) {
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.rooms[name]
	delete(set, m)
	if len(set) == 0 {
		delete(r.rooms, name)
	}
}

// publish queues one prepared (encoded once) message for every member. A
// full queue blocks the publisher (backpressure, nothing dropped); writers
// never take the lock, so this cannot deadlock.
func (r *rooms) publish(name string, pm *websocket.PreparedMessage) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for m := range r.rooms[name] {
		m.send <- pm
	}
}

var all = &rooms{rooms: make(map[string]map[*member]struct{})}

func echo(w http.ResponseWriter, req *http.Request) {
	conn, err := upgrader.Upgrade(w, req, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	conn.SetReadLimit(maxMessage)
	for {
		kind, data, err := conn.ReadMessage()
		if err != nil {
			return // the default close handler has answered a close frame
		}
		if err := conn.WriteMessage(kind, data); err != nil {
			return
		}
	}
}

func room(w http.ResponseWriter, req *http.Request) {
	name := strings.TrimPrefix(req.URL.Path, "/room/")
	if name == "" {
		http.NotFound(w, req)
		return
	}
	conn, err := upgrader.Upgrade(w, req, nil)
	if err != nil {
		return
	}
	conn.SetReadLimit(maxMessage)
	m := &member{send: make(chan *websocket.PreparedMessage, 1024)}
	all.join(name, m)
	done := make(chan struct{})
	go func() {
		defer close(done)
		failed := false
		for pm := range m.send {
			if failed {
				continue // keep draining so publishers never block on us
			}
			if err := conn.WritePreparedMessage(pm); err != nil {
				failed = true
				conn.Close()
			}
		}
	}()
	for {
		kind, data, err := conn.ReadMessage()
		if err != nil {
			break
		}
		pm, err := websocket.NewPreparedMessage(kind, data)
		if err != nil {
			break
		}
		all.publish(name, pm)
	}
	all.leave(name, m)
	close(m.send)
	<-done
	conn.Close()
}

func main() {
	port := flag.String("port", "9001", "port on 127.0.0.1")
	flag.Parse()
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", echo)
	mux.HandleFunc("/room/", room)
	log.Printf("peer-gorilla listening on 127.0.0.1:%s", *port)
	log.Fatal(http.ListenAndServe("127.0.0.1:"+*port, mux))
}
