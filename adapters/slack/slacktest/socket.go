package slacktest

import (
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// wsConn is one Socket Mode connection. Writes are serialised by wmu;
// gorilla allows WriteControl (pings) concurrently with them.
type wsConn struct {
	c    *websocket.Conn
	wmu  sync.Mutex
	done chan struct{}
	once sync.Once
	n    int // 1 for the first connection to say hello
}

func (c *wsConn) send(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.c.WriteJSON(v)
}

func (c *wsConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.c.Close()
	})
}

// envelope is one Socket Mode request and its delivery state.
type envelope struct {
	id       string
	typ      string
	payload  json.RawMessage
	accepts  bool
	attempt  int
	reason   string
	acked    bool
	timer    *time.Timer
	sentOnce bool
}

func (e *envelope) frame() map[string]any {
	return map[string]any{
		"envelope_id":              e.id,
		"type":                     e.typ,
		"accepts_response_payload": e.accepts,
		"retry_attempt":            e.attempt,
		"retry_reason":             e.reason,
		"payload":                  e.payload,
	}
}

// serveSocket upgrades a ticket handed out by apps.connections.open, says
// hello, pings, records acks and delivers queued envelopes.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	valid := s.tickets[ticket] && !s.closed
	delete(s.tickets, ticket)
	s.mu.Unlock()
	if !valid {
		http.Error(w, "invalid ticket", http.StatusUnauthorized)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &wsConn{c: ws, done: make(chan struct{})}
	hello := map[string]any{
		"type": "hello", "num_connections": 1,
		"debug_info":      map[string]any{"host": "slacktest", "build_number": 1, "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": s.cfg.AppID},
	}
	if err := c.send(hello); err != nil {
		c.close()
		return
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.close()
		return
	}
	s.conns[c] = true
	s.current = c
	s.order = append(s.order, c)
	s.hellos++
	c.n = s.hellos
	queued := s.queue
	s.queue = nil
	s.notifyLocked()
	s.mu.Unlock()

	go s.ping(c)
	for _, e := range queued {
		s.send(e)
	}
	s.read(c)
}

func (s *Server) ping(c *wsConn) {
	t := time.NewTicker(s.cfg.PingInterval)
	defer t.Stop()
	// One ping right away so the client's dead-man timer starts fed.
	_ = c.c.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second))
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			if err := c.c.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second)); err != nil {
				return
			}
		}
	}
}

// read records acks until the connection fails, then forgets it.
func (s *Server) read(c *wsConn) {
	defer func() {
		c.close()
		s.mu.Lock()
		delete(s.conns, c)
		s.retireLocked(c)
		if s.current == c {
			s.current = nil
			for other := range s.conns {
				s.current = other
				break
			}
		}
		s.notifyLocked()
		s.mu.Unlock()
	}()
	for {
		_, data, err := c.c.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		s.mu.Lock()
		a := Ack{EnvelopeID: ack.EnvelopeID, At: time.Now(), Conn: c.n}
		if len(ack.Payload) > 0 && string(ack.Payload) != "null" {
			a.Payload = ack.Payload
		}
		s.acks = append(s.acks, a)
		if e := s.envs[ack.EnvelopeID]; e != nil {
			e.acked = true
			if e.timer != nil {
				e.timer.Stop()
			}
		}
		s.notifyLocked()
		s.mu.Unlock()
	}
}

// retireLocked takes c out of the connections that get envelopes.
func (s *Server) retireLocked(c *wsConn) {
	s.order = slices.DeleteFunc(s.order, func(o *wsConn) bool { return o == c })
}

// pickLocked is the connection the next envelope goes to: the newest, or
// with Spread each open one in turn; nil when there is none.
func (s *Server) pickLocked() *wsConn {
	if !s.cfg.Spread {
		return s.current
	}
	if len(s.order) == 0 {
		return nil
	}
	c := s.order[s.turn%len(s.order)]
	s.turn++
	return c
}

// send writes e to the current connection (with Spread, the next in
// turn), or queues it until the next hello; unacked envelopes are
// redelivered after AckTimeout.
func (s *Server) send(e *envelope) {
	s.mu.Lock()
	c := s.pickLocked()
	if c == nil || s.closed {
		if !s.closed {
			s.queue = append(s.queue, e)
		}
		s.mu.Unlock()
		return
	}
	frame := e.frame()
	e.sentOnce = true
	if s.cfg.AckTimeout > 0 && !e.acked {
		if e.timer != nil {
			e.timer.Stop()
		}
		id := e.id
		e.timer = time.AfterFunc(s.cfg.AckTimeout, func() { s.retry(id, "timeout", false) })
	}
	s.mu.Unlock()
	if err := c.send(frame); err != nil {
		s.mu.Lock()
		if !s.closed {
			s.queue = append(s.queue, e)
		}
		s.mu.Unlock()
	}
}

func (s *Server) retry(id, reason string, force bool) {
	s.mu.Lock()
	e := s.envs[id]
	if e == nil || s.closed || (!force && (e.acked || e.attempt >= s.cfg.MaxRetries)) {
		s.mu.Unlock()
		return
	}
	e.attempt++
	e.reason = reason
	s.mu.Unlock()
	s.send(e)
}

// Redeliver sends envelope id again with retry_attempt incremented and
// retry_reason (default "timeout"), acked or not: what Slack does when it
// did not see an ack in time.
func (s *Server) Redeliver(id, reason string) {
	if reason == "" {
		reason = "timeout"
	}
	s.retry(id, reason, true)
}

// deliver creates an envelope and sends it (or queues it while no
// connection is open). It returns the envelope_id.
func (s *Server) deliver(typ string, payload json.RawMessage, accepts bool) string {
	s.mu.Lock()
	e := &envelope{id: s.newIDLocked("env-"), typ: typ, payload: payload, accepts: accepts}
	s.envs[e.id] = e
	s.mu.Unlock()
	s.send(e)
	return e.id
}

// Deliver sends e over Socket Mode as an events_api envelope and returns
// its envelope_id.
func (s *Server) Deliver(e Event) string {
	return s.deliver("events_api", s.EventBody(e), false)
}

// DeliverSlashCommand sends a slash command (the form from SlashCommand)
// over Socket Mode and returns its envelope_id.
func (s *Server) DeliverSlashCommand(form map[string][]string) string {
	p := map[string]any{"is_enterprise_install": "false"}
	for k, v := range form {
		if len(v) > 0 {
			p[k] = v[0]
		}
	}
	b, _ := json.Marshal(p)
	return s.deliver("slash_commands", b, true)
}

// DeliverInteraction sends an interactivity payload (from Click) over
// Socket Mode and returns its envelope_id.
func (s *Server) DeliverInteraction(payload []byte) string {
	return s.deliver("interactive", json.RawMessage(payload), false)
}

// DeliverRaw sends an envelope of any type with any payload (for malformed
// input) and returns its envelope_id.
func (s *Server) DeliverRaw(typ string, payload json.RawMessage) string {
	return s.deliver(typ, payload, false)
}

// Disconnect sends {"type":"disconnect","reason":reason} on the current
// connection, as Slack does before rotating it ("warning",
// "refresh_requested", "link_disabled"). New envelopes wait for the next
// connection.
func (s *Server) Disconnect(reason string) {
	s.mu.Lock()
	c := s.current
	s.current = nil
	s.retireLocked(c)
	s.mu.Unlock()
	if c == nil {
		return
	}
	_ = c.send(map[string]any{"type": "disconnect", "reason": reason, "debug_info": map[string]any{"host": "slacktest"}})
}

// DropConnections closes every websocket abruptly (a network failure).
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := make([]*wsConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.current = nil
	s.order = nil
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}
