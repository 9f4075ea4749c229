package slack

import (
	"fmt"
	"regexp"
	"strings"

	slackapi "github.com/slack-go/slack"

	"gptaccess/bot"
	"gptaccess/format"
	"gptaccess/monitor"
)

// Slack limits (chat.postMessage text, section text, buttons per actions
// block, blocks per message, button label).
const (
	maxText       = 39000
	maxSection    = 3000
	maxButtons    = 25
	maxSections   = 40
	maxLabelRunes = 75
)

// outgoing is one message as it will be sent: mrkdwn text and, for
// questions, Block Kit blocks (Text is then the notification fallback).
type outgoing struct {
	Text   string
	Blocks []slackapi.Block
}

// render turns a Reply to m into a Slack message. A question becomes a
// section with the text and an actions block with one button per choice;
// the plain-text fallback lists the choices for clients without blocks.
func render(r bot.Reply, m bot.Message) outgoing {
	q := r.Question
	if q == nil || len(q.Choices) == 0 {
		return outgoing{Text: clip(mrkdwn(r.Text), maxText)}
	}
	body := strings.TrimSpace(r.Text)
	if qt := strings.TrimSpace(q.Text); qt != "" && !strings.Contains(body, qt) {
		body = strings.TrimSpace(body + "\n\n**" + qt + "**")
	}
	text := mrkdwn(body)
	if strings.TrimSpace(text) == "" {
		text = "Please choose one:"
	}
	var list []string
	for i, c := range q.Choices {
		list = append(list, fmt.Sprintf("*%d.* %s", i+1, escape(c)))
	}
	fallback := text + "\n" + strings.Join(list, "  ") + "\n_Click a button or type your answer._"
	if !questionIDRE.MatchString(q.ID) {
		// Buttons could not be traced back to the question; typed answers
		// still work.
		return outgoing{Text: clip(fallback, maxText)}
	}

	var blocks []slackapi.Block
	for i, chunk := range chunks(text, maxSection) {
		if i == maxSections {
			break
		}
		blocks = append(blocks, slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, chunk, false, false), nil, nil))
	}
	var buttons []slackapi.BlockElement
	for i, c := range q.Choices {
		if i == maxButtons {
			break
		}
		label := truncate(c, maxLabelRunes)
		if strings.TrimSpace(label) == "" {
			continue
		}
		buttons = append(buttons, slackapi.NewButtonBlockElement(
			fmt.Sprintf("%s%d", actionPrefix, i+1), q.ID+"|"+c,
			slackapi.NewTextBlockObject(slackapi.PlainTextType, label, true, false)))
	}
	if len(buttons) > 0 {
		blocks = append(blocks, slackapi.NewActionBlock(questionBlockID(m), buttons...))
	}
	return outgoing{Text: clip(fallback, maxText), Blocks: blocks}
}

// answered is the clicked question message after the click: the same
// blocks without the buttons, plus who answered what, so nobody clicks
// twice. Ephemeral messages come without their blocks; the note then stands
// alone.
func answered(original []slackapi.Block, user, choice string) outgoing {
	note := "✔ <@" + user + "> answered: *" + escape(choice) + "*"
	var blocks []slackapi.Block
	var texts []string
	for _, b := range original {
		if b == nil || b.BlockType() == slackapi.MBTAction {
			continue
		}
		blocks = append(blocks, b)
		if s, ok := b.(*slackapi.SectionBlock); ok && s.Text != nil {
			texts = append(texts, s.Text.Text)
		}
	}
	blocks = append(blocks, slackapi.NewContextBlock("", slackapi.NewTextBlockObject(slackapi.MarkdownType, note, false, false)))
	return outgoing{Text: clip(strings.Join(append(texts, note), "\n"), maxText), Blocks: blocks}
}

// renderNotice formats a monitor notice.
func renderNotice(n monitor.Notice) string {
	icon := map[monitor.Phase]string{
		monitor.PhaseOpened:   ":rotating_light:",
		monitor.PhaseReminder: ":hourglass_flowing_sand:",
		monitor.PhaseUpdate:   ":information_source:",
		monitor.PhaseResolved: ":white_check_mark:",
		monitor.PhaseDigest:   ":bar_chart:",
	}[n.Phase]
	if n.Phase == monitor.PhaseOpened && n.Kind == monitor.KindBlocked {
		icon = ":no_entry:"
	}
	title := strings.TrimSpace(n.Title)
	if title == "" {
		title = map[monitor.Phase]string{
			monitor.PhaseOpened:   "ChatGPT reachability alert",
			monitor.PhaseReminder: "Still ongoing",
			monitor.PhaseUpdate:   "Update",
			monitor.PhaseResolved: "Resolved",
			monitor.PhaseDigest:   "Daily digest",
		}[n.Phase]
	}
	var b strings.Builder
	if icon != "" {
		b.WriteString(icon + " ")
	}
	b.WriteString("*" + escape(title) + "*")
	if t := strings.TrimSpace(n.Text); t != "" {
		b.WriteString("\n" + mrkdwn(t))
	}
	if n.Phase == monitor.PhaseResolved && n.Duration > 0 {
		b.WriteString("\n_Lasted " + format.Duration(n.Duration) + "._")
	}
	return clip(b.String(), maxText)
}

// renderHandover is the message for human supporters: who needs help,
// where (with a link to the thread when the workspace URL is known), the
// summary, and a mention of the support group when one is configured.
func renderHandover(h bot.Handover, group, workspace string) string {
	var b strings.Builder
	if group != "" {
		b.WriteString("<!subteam^" + group + "> ")
	}
	b.WriteString(":raising_hand: *Someone needs a human*")
	if h.User != "" {
		b.WriteString(" — <@" + h.User + ">")
	}
	switch {
	case h.Channel == "":
	case idPlace(h.Channel) == placeDM:
		b.WriteString(" (in a direct message with me)")
	default:
		b.WriteString(" in <#" + h.Channel + ">")
		if link := permalink(workspace, h.Channel, h.Thread); link != "" {
			b.WriteString(" (<" + link + "|thread>)")
		}
	}
	if s := strings.TrimSpace(h.Summary); s != "" {
		b.WriteString("\n" + mrkdwn(s))
	}
	return clip(b.String(), maxText)
}

var tsRE = regexp.MustCompile(`^\d+\.\d+$`)

// permalink builds Slack's archive link to channel/ts.
func permalink(workspace, channel, ts string) string {
	if !strings.HasPrefix(workspace, "https://") || !tsRE.MatchString(ts) || strings.ContainsAny(channel, "/|<>") {
		return ""
	}
	return strings.TrimSuffix(workspace, "/") + "/archives/" + channel + "/p" + strings.Replace(ts, ".", "", 1)
}

var (
	headingRE = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	bulletRE  = regexp.MustCompile(`^(\s*)[-*+]\s+(.*)$`)
	linkRE    = regexp.MustCompile(`\[([^\[\]]+)\]\((https?://[^\s()]+)\)`)
	boldRE    = regexp.MustCompile(`\*\*(\S(?:.*?\S)?)\*\*`)
	boldUsRE  = regexp.MustCompile(`__(\S(?:.*?\S)?)__`)
	strikeRE  = regexp.MustCompile(`~~(\S(?:.*?\S)?)~~`)
	escaper   = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
)

// escape makes text safe for mrkdwn: Slack reads <…> as links and mentions,
// so text that came from users can never ping @channel.
func escape(s string) string { return escaper.Replace(s) }

// mrkdwn converts the bot's Markdown-lite (**bold**, "- " bullets, "1. "
// lists, # headings, [links](url), `code`) to Slack mrkdwn (*bold*, •,
// <url|text>), escaping &, < and > everywhere.
func mrkdwn(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	fence := false
	for i, line := range lines {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fence = !fence
			lines[i] = escape(line)
			continue
		}
		if fence {
			lines[i] = escape(line)
			continue
		}
		if m := headingRE.FindStringSubmatch(line); m != nil {
			lines[i] = "*" + inline(m[1]) + "*"
			continue
		}
		if m := bulletRE.FindStringSubmatch(line); m != nil {
			lines[i] = m[1] + "• " + inline(m[2])
			continue
		}
		lines[i] = inline(line)
	}
	return strings.Join(lines, "\n")
}

// inline converts inline markup outside `code` spans.
func inline(s string) string {
	parts := strings.Split(s, "`")
	for i, p := range parts {
		p = escape(p)
		if i%2 == 0 || i == len(parts)-1 {
			p = linkRE.ReplaceAllString(p, "<$2|$1>")
			p = boldRE.ReplaceAllString(p, "*$1*")
			p = boldUsRE.ReplaceAllString(p, "*$1*")
			p = strikeRE.ReplaceAllString(p, "~$1~")
		}
		parts[i] = p
	}
	return strings.Join(parts, "`")
}

// chunks splits text into pieces of at most n runes, at line breaks where
// possible.
func chunks(text string, n int) []string {
	var out []string
	var cur []rune
	flush := func() {
		if s := strings.TrimRight(string(cur), "\n"); strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
		cur = cur[:0]
	}
	for _, line := range strings.SplitAfter(text, "\n") {
		r := []rune(line)
		if len(cur)+len(r) > n {
			flush()
		}
		for len(r) > n {
			out = append(out, string(r[:n]))
			r = r[n:]
		}
		cur = append(cur, r...)
	}
	flush()
	return out
}

// clip shortens s to at most n runes.
func clip(s string, n int) string { return truncate(s, n) }
