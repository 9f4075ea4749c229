package slacktest

import (
	"net/http"
	"strings"
	"time"
)

// Conversation types, as Slack's message events name them in
// channel_type.
const (
	TypeChannel = "channel" // a public channel
	TypeGroup   = "group"   // a private channel
	TypeMPIM    = "mpim"    // a group direct message
	TypeIM      = "im"      // a direct message
)

// Conversation is a conversation of the fake workspace, as
// conversations.info describes it. Ids the fake was not told about are
// known by their prefix, as in a workspace where every "C…" channel is
// public: "C…" a public channel, "G…" a private channel made before Slack
// gave private channels "C…" ids, "D…" a direct message; other ids are
// channel_not_found.
type Conversation struct {
	ID   string
	Type string // TypeChannel, TypeGroup, TypeMPIM or TypeIM
	// Name is the channel's name; "" for a generated one ("mpdm-…" for a
	// group DM). A direct message has none.
	Name string
}

// AddConversation tells the workspace about c: conversations.info
// describes it, UserMessage takes its channel_type from it and
// SlashCommand its channel_name (as Slack sends them: "privategroup" for a
// private channel, the "mpdm-…" name for a group DM).
func (s *Server) AddConversation(c Conversation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.convs == nil {
		s.convs = map[string]Conversation{}
	}
	s.convs[c.ID] = c.withName()
}

func (c Conversation) withName() Conversation {
	if c.Name != "" || c.Type == TypeIM {
		return c
	}
	switch c.Type {
	case TypeMPIM:
		c.Name = "mpdm-ana--bo--cy-1"
	default:
		c.Name = "channel-" + strings.ToLower(c.ID)
	}
	return c
}

// conversationLocked is the conversation with id; ok is false when the
// workspace has none.
func (s *Server) conversationLocked(id string) (Conversation, bool) {
	if c, ok := s.convs[id]; ok {
		return c, true
	}
	c := Conversation{ID: id}
	switch {
	case strings.HasPrefix(id, "C"):
		c.Type = TypeChannel
	case strings.HasPrefix(id, "G"):
		c.Type = TypeGroup
	case strings.HasPrefix(id, "D"):
		c.Type = TypeIM
	default:
		return Conversation{}, false
	}
	return c.withName(), true
}

// conversationInfoLocked answers conversations.info with the fields of
// Slack's conversation object that tell the kind of place (is_channel,
// is_group, is_im, is_mpim, is_private) and a few of the others. Like
// Slack, it describes a private channel made before 2021 ("G…") with
// is_group instead of is_channel, and a direct message with is_im and its
// user, without a name.
func (s *Server) conversationInfoLocked(c *Call) (int, map[string]any) {
	conv, ok := s.conversationLocked(c.Channel)
	if !ok {
		return fail("channel_not_found")
	}
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	if conv.Type == TypeIM {
		return http.StatusOK, map[string]any{"ok": true, "channel": map[string]any{
			"id": conv.ID, "created": created, "is_archived": false, "is_im": true,
			"is_org_shared": false, "context_team_id": s.cfg.TeamID, "user": "U0PEER",
			"is_user_deleted": false, "priority": 0, "is_open": true,
		}}
	}
	legacyGroup := conv.Type == TypeGroup && strings.HasPrefix(conv.ID, "G")
	ch := map[string]any{
		"id":                    conv.ID,
		"name":                  conv.Name,
		"name_normalized":       conv.Name,
		"created":               created,
		"creator":               "U0CREATOR",
		"is_channel":            (conv.Type == TypeChannel || conv.Type == TypeGroup) && !legacyGroup,
		"is_group":              legacyGroup,
		"is_im":                 false,
		"is_mpim":               conv.Type == TypeMPIM,
		"is_private":            conv.Type != TypeChannel,
		"is_archived":           false,
		"is_general":            false,
		"is_shared":             false,
		"is_ext_shared":         false,
		"is_org_shared":         false,
		"is_pending_ext_shared": false,
		"is_member":             true,
		"unlinked":              0,
		"context_team_id":       s.cfg.TeamID,
		"shared_team_ids":       []string{s.cfg.TeamID},
		"pending_shared":        []string{},
		"previous_names":        []string{},
		"topic":                 map[string]any{"value": "", "creator": "", "last_set": 0},
		"purpose":               map[string]any{"value": "", "creator": "", "last_set": 0},
	}
	return http.StatusOK, map[string]any{"ok": true, "channel": ch}
}
