package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// serveAPI answers the Web API methods under /api/.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	form := r.URL.Query()
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ctype == "application/x-www-form-urlencoded" {
		f, err := url.ParseQuery(string(body))
		if err != nil {
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_form_data"})
			return
		}
		for k, v := range f {
			form[k] = v
		}
	}
	tok, bearer := tokenFrom(r, form)
	form.Del("token")

	call := Call{
		Method: method, Form: form, Token: tok, Bearer: bearer,
		Channel: form.Get("channel"), Text: form.Get("text"), ThreadTS: form.Get("thread_ts"),
		User: form.Get("user"), TS: form.Get("ts"), At: time.Now(),
	}
	call.Blocks = normBlocks(json.RawMessage(form.Get("blocks")))

	s.mu.Lock()
	defer s.mu.Unlock()
	status, resp := s.apiLocked(&call, tok, bearer)
	call.Status = status
	if ok, _ := resp["ok"].(bool); !ok {
		call.Error, _ = resp["error"].(string)
	}
	s.calls = append(s.calls, call)
	if call.Method == "chat.postMessage" && call.OK() {
		s.posts++
	}
	s.notifyLocked()
	if ra, ok := resp["retry_after"].(int); ok {
		delete(resp, "retry_after")
		w.Header().Set("Retry-After", strconv.Itoa(ra))
	}
	writeJSON(w, status, resp)
}

func fail(code string) (int, map[string]any) {
	return http.StatusOK, map[string]any{"ok": false, "error": code}
}

// apiLocked performs one call; s.mu is held.
func (s *Server) apiLocked(c *Call, tok string, bearer bool) (int, map[string]any) {
	want := s.cfg.BotToken
	if c.Method == "apps.connections.open" {
		// slack-go sends the app-level token as a Bearer header.
		want = s.cfg.AppToken
		if tok != "" && !bearer {
			return fail("not_allowed_token_type")
		}
	}
	switch {
	case tok == "":
		return fail("not_authed")
	case tok != want:
		return fail("invalid_auth")
	}
	if f := s.takeFaultLocked(c.Method, c.Channel); f != nil {
		if f.status == http.StatusTooManyRequests {
			return http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited", "retry_after": f.retryAfter}
		}
		return f.status, map[string]any{"ok": false, "error": f.code}
	}

	switch c.Method {
	case "auth.test":
		return http.StatusOK, map[string]any{
			"ok": true, "url": "https://test.slack.com/", "team": "Test", "user": "gptaccess",
			"team_id": s.cfg.TeamID, "user_id": s.cfg.BotUserID, "bot_id": s.cfg.BotID,
		}
	case "apps.connections.open":
		ticket := s.newIDLocked("ticket-")
		s.tickets[ticket] = true
		s.opens++
		u := "ws" + strings.TrimPrefix(s.http.URL, "http") + "/link/?ticket=" + ticket
		return http.StatusOK, map[string]any{"ok": true, "url": u}
	case "chat.postMessage":
		if code := s.checkMessageLocked(c); code != "" {
			return fail(code)
		}
		m := &Message{
			Channel: c.Channel, TS: s.newTSLocked(), ThreadTS: c.ThreadTS,
			User: s.cfg.BotUserID, BotID: s.cfg.BotID, Text: c.Text, Blocks: c.Blocks,
			Broadcast: c.Form.Get("reply_broadcast") == "true",
		}
		s.messages = append(s.messages, m)
		c.TS = m.TS
		msg := map[string]any{"type": "message", "text": m.Text, "user": m.User, "bot_id": m.BotID, "ts": m.TS}
		if m.ThreadTS != "" {
			msg["thread_ts"] = m.ThreadTS
		}
		return http.StatusOK, map[string]any{"ok": true, "channel": c.Channel, "ts": m.TS, "message": msg}
	case "chat.update":
		if c.Channel == "" {
			return fail("channel_not_found")
		}
		m := s.findLocked(c.Channel, c.TS)
		switch {
		case c.TS == "" || m == nil || m.Ephemeral:
			return fail("message_not_found")
		case m.BotID != s.cfg.BotID:
			return fail("cant_update_message")
		}
		if code := s.checkMessageLocked(c); code != "" {
			return fail(code)
		}
		m.Text, m.Blocks = c.Text, c.Blocks
		m.Edits++
		return http.StatusOK, map[string]any{"ok": true, "channel": c.Channel, "ts": m.TS, "text": m.Text}
	case "conversations.info":
		return s.conversationInfoLocked(c)
	case "chat.postEphemeral":
		if c.User == "" {
			return fail("user_not_in_channel")
		}
		if code := s.checkMessageLocked(c); code != "" {
			return fail(code)
		}
		m := &Message{
			Channel: c.Channel, TS: s.newTSLocked(), ThreadTS: c.ThreadTS, User: c.User,
			BotID: s.cfg.BotID, Text: c.Text, Blocks: c.Blocks, Ephemeral: true,
		}
		s.messages = append(s.messages, m)
		c.TS = m.TS
		return http.StatusOK, map[string]any{"ok": true, "message_ts": m.TS}
	default:
		return fail("unknown_method")
	}
}

// checkMessageLocked validates a chat.* call the way Slack does.
func (s *Server) checkMessageLocked(c *Call) string {
	if c.Channel == "" {
		return "channel_not_found"
	}
	if c.Text == "" && len(c.Blocks) == 0 {
		return "no_text"
	}
	if len(c.Text) > 40000 {
		return "msg_too_long"
	}
	if len(c.Blocks) > 0 {
		if err := ValidateBlocks(c.Blocks); err != nil {
			return "invalid_blocks"
		}
	}
	return ""
}

// ValidateBlocks checks blocks against the Block Kit limits Slack enforces
// for the block types the bot uses (section, actions, context, divider,
// header): types, unique block and action ids, text lengths, element counts.
func ValidateBlocks(raw json.RawMessage) error {
	type text struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	var blocks []struct {
		Type     string `json:"type"`
		BlockID  string `json:"block_id"`
		Text     *text  `json:"text"`
		Elements []struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
			Text     any    `json:"text"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return fmt.Errorf("blocks are not a JSON array of objects: %w", err)
	}
	if len(blocks) == 0 || len(blocks) > 50 {
		return fmt.Errorf("%d blocks, want 1..50", len(blocks))
	}
	blockIDs, actionIDs := map[string]bool{}, map[string]bool{}
	for i, b := range blocks {
		if b.BlockID != "" {
			if len(b.BlockID) > 255 || blockIDs[b.BlockID] {
				return fmt.Errorf("block %d: bad or duplicate block_id %q", i, b.BlockID)
			}
			blockIDs[b.BlockID] = true
		}
		switch b.Type {
		case "section", "header":
			if b.Text == nil || b.Text.Text == "" {
				return fmt.Errorf("block %d: %s without text", i, b.Type)
			}
			if b.Text.Type != "mrkdwn" && b.Text.Type != "plain_text" {
				return fmt.Errorf("block %d: text type %q", i, b.Text.Type)
			}
			if len([]rune(b.Text.Text)) > 3000 {
				return fmt.Errorf("block %d: text longer than 3000 characters", i)
			}
		case "actions":
			if len(b.Elements) == 0 || len(b.Elements) > 25 {
				return fmt.Errorf("block %d: %d elements, want 1..25", i, len(b.Elements))
			}
			for j, e := range b.Elements {
				if e.Type != "button" {
					continue
				}
				t, _ := e.Text.(map[string]any)
				label, _ := t["text"].(string)
				if t["type"] != "plain_text" || label == "" || len([]rune(label)) > 75 {
					return fmt.Errorf("block %d element %d: button text must be plain_text of 1..75 characters", i, j)
				}
				if len(e.Value) > 2000 {
					return fmt.Errorf("block %d element %d: value longer than 2000 characters", i, j)
				}
				if e.ActionID == "" || len(e.ActionID) > 255 || actionIDs[e.ActionID] {
					return fmt.Errorf("block %d element %d: bad or duplicate action_id %q", i, j, e.ActionID)
				}
				actionIDs[e.ActionID] = true
			}
		case "context":
			if len(b.Elements) == 0 || len(b.Elements) > 10 {
				return fmt.Errorf("block %d: %d context elements, want 1..10", i, len(b.Elements))
			}
		case "divider":
		default:
			return fmt.Errorf("block %d: unsupported type %q", i, b.Type)
		}
	}
	return nil
}

// serveResponseURL answers posts to the response_url handed out with slash
// commands and interactions.
func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	var body struct {
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
		ResponseType    string          `json:"response_type"`
		ReplaceOriginal bool            `json:"replace_original"`
		DeleteOriginal  bool            `json:"delete_original"`
		ThreadTS        string          `json:"thread_ts"`
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	decodeErr := json.Unmarshal(raw, &body)
	body.Blocks = normBlocks(body.Blocks)

	s.mu.Lock()
	defer s.mu.Unlock()
	ru := s.respURLs[id]
	if ru == nil {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	resp := Response{
		URL: s.http.URL + r.URL.Path, Channel: ru.channel, User: ru.user,
		Text: body.Text, Blocks: body.Blocks, ResponseType: body.ResponseType,
		ReplaceOriginal: body.ReplaceOriginal, DeleteOriginal: body.DeleteOriginal,
		ThreadTS: body.ThreadTS, Status: http.StatusOK,
	}
	if resp.ResponseType == "" {
		resp.ResponseType = "ephemeral"
	}
	code := s.respondLocked(ru, &resp, decodeErr)
	resp.Error = code
	s.responses = append(s.responses, resp)
	s.notifyLocked()
	if code != "" {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": code})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Server) respondLocked(ru *responseURL, resp *Response, decodeErr error) string {
	ru.uses++
	switch {
	case decodeErr != nil:
		return "invalid_payload"
	case ru.uses > s.cfg.ResponseURLUses:
		return "used_url"
	}
	if f := s.takeFaultLocked("response_url", ru.channel); f != nil {
		return f.code
	}
	if resp.Text == "" && len(resp.Blocks) == 0 && !resp.DeleteOriginal {
		return "no_text"
	}
	if len(resp.Blocks) > 0 {
		if err := ValidateBlocks(resp.Blocks); err != nil {
			return "invalid_blocks"
		}
	}
	switch {
	case resp.DeleteOriginal:
		if ru.origin == nil {
			return "no_original"
		}
		for i, m := range s.messages {
			if m == ru.origin {
				s.messages = append(s.messages[:i:i], s.messages[i+1:]...)
				break
			}
		}
		resp.TS = ru.origin.TS
		ru.origin = nil
	case resp.ReplaceOriginal:
		if ru.origin == nil {
			return "no_original"
		}
		ru.origin.Text, ru.origin.Blocks = resp.Text, resp.Blocks
		ru.origin.Edits++
		resp.TS = ru.origin.TS
	default:
		m := &Message{
			Channel: ru.channel, TS: s.newTSLocked(), ThreadTS: resp.ThreadTS,
			User: s.cfg.BotUserID, BotID: s.cfg.BotID, Text: resp.Text, Blocks: resp.Blocks,
		}
		if m.ThreadTS == "" {
			m.ThreadTS = ru.thread
		}
		if resp.ResponseType != "in_channel" {
			m.Ephemeral, m.User = true, ru.user
		}
		s.messages = append(s.messages, m)
		if ru.origin == nil {
			ru.origin = m
		}
		resp.TS = m.TS
	}
	return ""
}

// newResponseURLLocked hands out a response_url for channel/user; origin is
// the message replace_original changes (nil: the first message posted
// through it).
func (s *Server) newResponseURLLocked(channel, user, thread string, origin *Message) string {
	id := s.newIDLocked("R")
	s.respURLs[id] = &responseURL{id: id, channel: channel, user: user, thread: thread, origin: origin}
	// Slack's shape: /commands/<team>/<number>/<secret>.
	return s.http.URL + "/commands/" + s.cfg.TeamID + "/" + strings.TrimPrefix(id, "R") + "/" + id
}

// normBlocks maps an absent, null or empty blocks field to nil.
func normBlocks(b json.RawMessage) json.RawMessage {
	switch strings.TrimSpace(string(b)) {
	case "", "null", "[]":
		return nil
	}
	return b
}
