package discordtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

const websocket1001 = websocket.CloseGoingAway

// privileged are the intents Discord makes bots enable in the portal.
const privileged = discordgo.IntentGuildMembers | discordgo.IntentGuildPresences | discordgo.IntentMessageContent

// gateway is the fake's gateway state: one session at a time.
type gateway struct {
	mu         sync.Mutex // state changes and dispatch writes, so frames go out in sequence order
	conn       *gwConn    // the connection that identified or resumed last
	stopped    bool
	sessions   int
	sessionID  string
	seq        int64
	log        []frame // dispatches of this session, for RESUME replay
	intents    discordgo.Intent
	handshakes []Handshake
	reject     int
	replayFrom int64
	heartbeats int
	delivered  map[string]string // message id → the session its MESSAGE_CREATE was last written to
}

type frame struct {
	seq     int64
	data    []byte
	message string // the message id of a MESSAGE_CREATE
}

type gwConn struct {
	ws    *websocket.Conn
	wmu   sync.Mutex
	ready bool
}

func (c *gwConn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

func (c *gwConn) close(code int, reason string) {
	c.wmu.Lock()
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	c.wmu.Unlock()
	c.ws.Close()
}

// Handshake is one IDENTIFY or RESUME the fake received.
type Handshake struct {
	Resume         bool
	Intents        discordgo.Intent // IDENTIFY
	Compress       bool             // IDENTIFY asked for per-payload compression
	LargeThreshold int
	SessionID      string // the session identified, or the one asked to resume
	Seq            int64  // RESUME: the last sequence the client had
	Accepted       bool
	CloseCode      int // when refused with a close
}

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		writeJSON(w, 404, apiError{Message: "404: Not Found"})
		return
	}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &gwConn{ws: ws}
	q := r.URL.Query()
	switch {
	case q.Get("v") != "9" && q.Get("v") != "10":
		c.close(4012, "Invalid API version.")
		return
	case q.Get("encoding") != "" && q.Get("encoding") != "json":
		c.close(4002, "Error while decoding payload (the fake speaks json only).")
		return
	case q.Get("compress") != "":
		c.close(4000, "zlib-stream transport compression is not supported by the fake.")
		return
	}
	s.gw.mu.Lock()
	stopped := s.gw.stopped
	s.gw.mu.Unlock()
	if stopped {
		c.close(websocket1001, "server stopped")
		return
	}
	hello := fmt.Sprintf(`{"op":10,"d":{"heartbeat_interval":%d,"_trace":["fake-gateway"]},"s":null,"t":null}`, s.opts.HeartbeatInterval.Milliseconds())
	if c.write([]byte(hello)) != nil {
		ws.Close()
		return
	}
	ws.SetReadLimit(1 << 20)
	defer s.dropConn(c)
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var f struct {
			Op int             `json:"op"`
			D  json.RawMessage `json:"d"`
		}
		if json.Unmarshal(data, &f) != nil {
			c.close(4002, "Error while decoding payload.")
			return
		}
		switch f.Op {
		case 1:
			s.gw.mu.Lock()
			s.gw.heartbeats++
			s.gw.mu.Unlock()
			if c.write([]byte(`{"op":11,"d":null,"s":null,"t":null}`)) != nil {
				return
			}
			s.signal()
		case 2:
			if !s.identify(c, f.D) {
				return
			}
		case 6:
			if !s.resume(c, f.D) {
				return
			}
		case 3, 4, 8, 31:
			if !c.ready {
				c.close(4003, "Not authenticated.")
				return
			}
		default:
			c.close(4001, "Unknown opcode.")
			return
		}
	}
}

func (s *Server) signal() {
	s.mu.Lock()
	s.signalLocked()
	s.mu.Unlock()
}

func (s *Server) dropConn(c *gwConn) {
	c.ws.Close()
	s.gw.mu.Lock()
	if s.gw.conn == c {
		s.gw.conn = nil
	}
	s.gw.mu.Unlock()
	s.signal()
}

// refuse closes c with code, recording the handshake.
func (s *Server) refuseLocked(c *gwConn, h Handshake, code int, reason string) bool {
	h.CloseCode = code
	s.gw.handshakes = append(s.gw.handshakes, h)
	c.close(code, reason)
	return false
}

func (s *Server) identify(c *gwConn, d json.RawMessage) bool {
	var id struct {
		Token          string `json:"token"`
		Intents        *int64 `json:"intents"`
		Compress       bool   `json:"compress"`
		LargeThreshold int    `json:"large_threshold"`
	}
	if json.Unmarshal(d, &id) != nil {
		c.close(4002, "Error while decoding payload.")
		return false
	}
	s.gw.mu.Lock()
	defer s.signal()
	defer s.gw.mu.Unlock()
	h := Handshake{Compress: id.Compress, LargeThreshold: id.LargeThreshold}
	if id.Intents != nil {
		h.Intents = discordgo.Intent(*id.Intents)
	}
	switch {
	case s.gw.reject != 0:
		return s.refuseLocked(c, h, s.gw.reject, "Refused by the test.")
	case id.Token != "Bot "+s.Token:
		return s.refuseLocked(c, h, 4004, "Authentication failed.")
	case id.Intents == nil || *id.Intents < 0 || *id.Intents >= 1<<26:
		return s.refuseLocked(c, h, 4013, "Invalid intent(s).")
	case h.Intents&privileged&^s.opts.PrivilegedIntents != 0:
		return s.refuseLocked(c, h, 4014, "Disallowed intent(s).")
	}
	s.gw.sessions++
	s.gw.sessionID = "fake-session-" + strconv.Itoa(s.gw.sessions)
	s.gw.seq = 0
	s.gw.log = nil
	s.gw.intents = h.Intents
	s.gw.conn = c
	h.SessionID, h.Accepted = s.gw.sessionID, true
	s.gw.handshakes = append(s.gw.handshakes, h)

	ready := map[string]any{
		"v": 9, "user": s.botUser(), "session_id": s.gw.sessionID, "session_type": "normal",
		"resume_gateway_url": "ws://" + s.srv.Listener.Addr().String(),
		"application":        map[string]any{"id": s.AppID, "flags": 0},
		"guilds":             []any{map[string]any{"id": s.GuildID, "unavailable": true}},
		"private_channels":   []any{}, "relationships": []any{}, "shard": []int{0, 1},
	}
	c.ready = true
	if s.dispatchLocked("READY", mustJSON(ready)) != nil {
		return false
	}
	s.dispatchLocked("GUILD_CREATE", mustJSON(s.guildCreate()))
	return true
}

// guildCreate is the lazy-loaded guild after READY, with its channels and
// threads.
func (s *Server) guildCreate() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	channels, threads := []any{}, []any{}
	for _, c := range s.channels {
		if c.GuildID != s.GuildID {
			continue
		}
		if c.Type == discordgo.ChannelTypeGuildPublicThread || c.Type == discordgo.ChannelTypeGuildPrivateThread {
			threads = append(threads, channelObj(c))
		} else {
			channels = append(channels, channelObj(c))
		}
	}
	return map[string]any{
		"id": s.GuildID, "name": "Fake Guild", "unavailable": false, "member_count": 2, "large": false,
		"joined_at": "2024-01-01T00:00:00.000000+00:00", "owner_id": "1100000000000000050",
		"channels": channels, "threads": threads, "members": []any{}, "roles": []any{}, "emojis": []any{},
		"stickers": []any{}, "voice_states": []any{}, "presences": []any{}, "features": []any{},
	}
}

func (s *Server) resume(c *gwConn, d json.RawMessage) bool {
	var rs struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       int64  `json:"seq"`
	}
	if json.Unmarshal(d, &rs) != nil {
		c.close(4002, "Error while decoding payload.")
		return false
	}
	s.gw.mu.Lock()
	defer s.signal()
	defer s.gw.mu.Unlock()
	h := Handshake{Resume: true, SessionID: rs.SessionID, Seq: rs.Seq}
	switch {
	case s.gw.reject != 0:
		return s.refuseLocked(c, h, s.gw.reject, "Refused by the test.")
	case rs.Token != "Bot "+s.Token:
		return s.refuseLocked(c, h, 4004, "Authentication failed.")
	case rs.SessionID == "" || rs.SessionID != s.gw.sessionID:
		// Not resumable: the client must identify again on this socket.
		s.gw.handshakes = append(s.gw.handshakes, h)
		return c.write([]byte(`{"op":9,"d":false,"s":null,"t":null}`)) == nil
	}
	h.Accepted = true
	s.gw.handshakes = append(s.gw.handshakes, h)
	s.gw.conn = c
	c.ready = true
	from := rs.Seq + 1
	if s.gw.replayFrom > 0 && s.gw.replayFrom < from {
		from = s.gw.replayFrom
	}
	s.gw.replayFrom = 0
	var missed []frame
	for _, f := range s.gw.log {
		if f.seq >= from {
			missed = append(missed, f)
		}
	}
	for _, f := range missed {
		if c.write(f.data) != nil {
			return false
		}
		s.deliveredLocked(f)
	}
	return s.dispatchLocked("RESUMED", []byte(`{"_trace":["fake-gateway"]}`)) == nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// dispatchLocked sends an op 0 dispatch with the next sequence number.
// Without a ready connection it is only logged, and replayed on RESUME.
func (s *Server) dispatchLocked(t string, d []byte) error {
	s.gw.seq++
	b := fmt.Appendf(nil, `{"op":0,"t":%q,"s":%d,"d":%s}`, t, s.gw.seq, d)
	f := frame{seq: s.gw.seq, data: b}
	if t == "MESSAGE_CREATE" {
		var m struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(d, &m) == nil {
			f.message = m.ID
		}
	}
	s.gw.log = append(s.gw.log, f)
	if c := s.gw.conn; c != nil && c.ready {
		if err := c.write(b); err != nil {
			return err
		}
		s.deliveredLocked(f)
	}
	return nil
}

// deliveredLocked notes that frame f went out on the current session.
func (s *Server) deliveredLocked(f frame) {
	if f.message == "" {
		return
	}
	if s.gw.delivered == nil {
		s.gw.delivered = map[string]string{}
	}
	s.gw.delivered[f.message] = s.gw.sessionID
}

// DeliveredTo returns the gateway session ("fake-session-<n>", as in
// Handshake.SessionID) whose connection the MESSAGE_CREATE of message id
// was last written to, or "" when it was written to none: sent while no
// client was connected, it waits for a RESUME, and a new session (an
// IDENTIFY) never gets it. Written is not read: a client killed with the
// frame in its socket lost it all the same.
func (s *Server) DeliveredTo(id string) string {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	return s.gw.delivered[id]
}

// Dispatch sends a gateway event (op 0) with the next sequence number and
// returns the sequence number. Without a connection the event waits for a
// RESUME, as on Discord.
func (s *Server) Dispatch(t string, d any) int64 {
	b := mustJSON(d)
	return s.DispatchRaw(t, b)
}

// DispatchRaw is Dispatch with d as JSON text, which may be any shape (for
// malformed payloads); it must be valid JSON for the frame to parse.
func (s *Server) DispatchRaw(t string, d []byte) int64 {
	s.gw.mu.Lock()
	s.dispatchLocked(t, d)
	seq := s.gw.seq
	s.gw.mu.Unlock()
	s.signal()
	return seq
}

// SendRaw writes frame as a text message on the gateway connection, as
// is: use it for frames that are not even valid JSON.
func (s *Server) SendRaw(tb testing.TB, frame string) {
	tb.Helper()
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	if s.gw.conn == nil {
		tb.Fatalf("discordtest: SendRaw without a gateway connection")
	}
	s.gw.conn.write([]byte(frame))
}

// Reconnect sends op 7 RECONNECT: the client should reconnect and resume.
func (s *Server) Reconnect() { s.sendOp(`{"op":7,"d":null,"s":null,"t":null}`) }

// InvalidSession sends op 9 INVALID_SESSION.
func (s *Server) InvalidSession(resumable bool) {
	s.sendOp(fmt.Sprintf(`{"op":9,"d":%t,"s":null,"t":null}`, resumable))
}

// Heartbeat asks the client for an immediate heartbeat (op 1).
func (s *Server) Heartbeat() { s.sendOp(fmt.Sprintf(`{"op":1,"d":%d,"s":null,"t":null}`, s.Seq())) }

func (s *Server) sendOp(b string) {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	if s.gw.conn != nil {
		s.gw.conn.write([]byte(b))
	}
}

// CloseGateway closes the current gateway connection with a close code
// (e.g. 4000 to make the client resume, 4004 or 4014 to refuse it).
func (s *Server) CloseGateway(code int, reason string) {
	s.gw.mu.Lock()
	c := s.gw.conn
	s.gw.conn = nil
	s.gw.mu.Unlock()
	if c != nil {
		c.close(code, reason)
	}
	s.signal()
}

// ForgetSession ends the current gateway session on Discord's side, as
// when it expired: the next RESUME is answered with op 9 (not resumable),
// so the client must IDENTIFY, and the events dispatched for the old
// session are never delivered.
func (s *Server) ForgetSession() {
	s.gw.mu.Lock()
	s.gw.sessionID = ""
	s.gw.log = nil
	s.gw.mu.Unlock()
}

// RejectGateway makes every later IDENTIFY and RESUME fail with close code
// code (e.g. 4004 after a token reset); 0 accepts them again.
func (s *Server) RejectGateway(code int) {
	s.gw.mu.Lock()
	s.gw.reject = code
	s.gw.mu.Unlock()
}

// ReplayOnResume makes the next accepted RESUME replay every event from
// sequence number seq on, including ones the client already had: Discord
// delivers at least once, so a client must tolerate duplicates.
func (s *Server) ReplayOnResume(seq int64) {
	s.gw.mu.Lock()
	s.gw.replayFrom = seq
	s.gw.mu.Unlock()
}

// Connected reports whether a client is identified or resumed.
func (s *Server) Connected() bool {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	return s.gw.conn != nil && s.gw.conn.ready
}

// Seq is the last sequence number dispatched.
func (s *Server) Seq() int64 {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	return s.gw.seq
}

// Intents are the intents of the current session.
func (s *Server) Intents() discordgo.Intent {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	return s.gw.intents
}

// Heartbeats counts the heartbeats received.
func (s *Server) Heartbeats() int {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	return s.gw.heartbeats
}

// Handshakes returns every IDENTIFY and RESUME received, oldest first.
func (s *Server) Handshakes() []Handshake {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	return append([]Handshake(nil), s.gw.handshakes...)
}

// WaitHandshakes waits until n handshakes were received and returns them.
func (s *Server) WaitHandshakes(tb testing.TB, n int) []Handshake {
	tb.Helper()
	var out []Handshake
	s.Await(tb, fmt.Sprintf("%d gateway handshakes", n), func() bool {
		out = s.Handshakes()
		return len(out) >= n
	})
	return out
}

// WaitConnected waits until a client is identified or resumed.
func (s *Server) WaitConnected(tb testing.TB) {
	tb.Helper()
	s.Await(tb, "a connected gateway client", s.Connected)
}
