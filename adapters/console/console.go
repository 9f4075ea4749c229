// Package console is the terminal adapter: the same bot as on Slack and
// Discord, on stdin and stdout. With JSON set it speaks one JSON reply per
// input line (docs/contracts.md, sections 1 and 2), which also makes it the harness for golden
// transcript tests.
package console

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"gptaccess/bot"
	"gptaccess/monitor"
)

// Options configure the terminal adapter.
type Options struct {
	In      io.Reader
	Out     io.Writer
	Handler bot.Handler
	// JSON switches to machine mode: exactly one JSON reply line per input
	// line and nothing else on Out.
	JSON bool
	// User names the person at the terminal in conversation keys.
	User string
	// Banner is printed before the first prompt in interactive mode.
	Banner string
	// JoinPastes joins the lines of a paste into one message, so an error
	// page pasted into a terminal is read as one, while a typed line is
	// answered at once. Only for a real terminal: piped input arrives in
	// bursts too. When In and Out are the terminal, the adapter turns on
	// bracketed paste (the terminal marks where a paste begins and ends);
	// otherwise a line counts as part of a paste when another was already
	// waiting behind it.
	JoinPastes bool
	Logger     *slog.Logger
}

// Adapter runs a conversation on a terminal.
type Adapter struct {
	o   Options
	log *slog.Logger
	mu  sync.Mutex // serialises writes: alerts arrive from the monitor's goroutine
}

// New returns a terminal adapter.
func New(o Options) *Adapter {
	if o.User == "" {
		o.User = "you"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Adapter{o: o, log: o.Logger.With("component", "console")}
}

// pasteWindow is how soon another line must follow, once a paste began,
// for both to be one message: a terminal hands over a pasted page line
// by line, all at once (a long one in a few chunks).
const pasteWindow = 50 * time.Millisecond

// The bracketed paste sequences (xterm's, which most terminals share).
const (
	pasteModeOn  = "\x1b[?2004h"
	pasteModeOff = "\x1b[?2004l"
	pasteStart   = "\x1b[200~"
	pasteEnd     = "\x1b[201~"
)

// input is one line read, and whether another line was already waiting
// behind it when it was read (typing gives one line at a time).
type input struct {
	text    string
	waiting bool
}

// gather reads one message starting with first. A typed line is the
// message at once; the lines of a paste are joined: until the paste's end
// mark with bracketed paste, else while each follows the last within
// pasteWindow. The window opens only for a paste, so typing never waits.
func gather(first input, lines <-chan input) string {
	msg, started, ended := unmark(first.text)
	if ended || !started && !first.waiting {
		return msg
	}
	t := time.NewTimer(pasteWindow)
	defer t.Stop()
	for len(msg) <= maxLine {
		select {
		case more := <-lines:
			var text string
			text, _, ended = unmark(more.text)
			msg += "\n" + text
			if ended {
				return msg
			}
			t.Reset(pasteWindow)
		case <-t.C:
			return msg
		}
	}
	return msg
}

// unmark removes the bracketed paste marks from a line and says which it
// held. An end mark can also begin the line typed after a paste that
// ended with a newline: the terminal sends it after that newline.
func unmark(line string) (text string, started, ended bool) {
	if !strings.Contains(line, "\x1b[20") {
		return line, false, false
	}
	started = strings.Contains(line, pasteStart)
	ended = strings.Contains(line, pasteEnd)
	return strings.NewReplacer(pasteStart, "", pasteEnd, "").Replace(line), started, ended
}

// maxLine bounds one input line; longer lines are cut (the engine then
// answers that the message is too long) instead of exhausting memory.
const maxLine = 1 << 20

// Run reads messages until EOF or ctx is done.
func (a *Adapter) Run(ctx context.Context) error {
	var term *terminal
	if f, ok := a.o.In.(*os.File); ok && a.o.JoinPastes && !a.o.JSON {
		if t, ok := openTerminal(f); ok {
			term = &t
			if out, ok := a.o.Out.(*os.File); ok {
				if _, isTerm := openTerminal(out); isTerm {
					if undo, err := t.bracketPastes(out); err == nil {
						defer undo()
					} else {
						a.log.Debug("bracketed paste unavailable", "err", err)
					}
				}
			}
		}
	}
	lines := make(chan input)
	errc := make(chan error, 1)
	go func() { errc <- a.read(ctx, lines, term) }()

	if !a.o.JSON && a.o.Banner != "" {
		a.write(a.o.Banner + "\n")
	}
	a.prompt()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if !a.o.JSON {
				a.write("\n")
			}
			return err
		case in := <-lines:
			line := in.text
			if a.o.JoinPastes && !a.o.JSON {
				line = gather(in, lines)
			}
			a.handle(ctx, line)
			a.prompt()
		}
	}
}

// read sends input lines to out, each with whether another line was
// already waiting (in the buffer, or in term's queue when it is set).
func (a *Adapter) read(ctx context.Context, out chan<- input, term *terminal) error {
	r := bufio.NewReaderSize(a.o.In, 64<<10)
	for {
		line, err := readLine(r)
		if errors.Is(err, io.EOF) && line == "" {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read input: %w", err)
		}
		in := input{text: line, waiting: r.Buffered() > 0 || term != nil && term.waiting()}
		select {
		case out <- in:
		case <-ctx.Done():
			return nil
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}

// readLine reads one line without its newline, keeping at most maxLine
// bytes of it.
func readLine(r *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		chunk, isPrefix, err := r.ReadLine()
		if b.Len() < maxLine {
			b.Write(chunk[:min(len(chunk), maxLine-b.Len()+1)])
		}
		if err != nil {
			return b.String(), err
		}
		if !isPrefix {
			return strings.TrimSuffix(b.String(), "\r"), nil
		}
	}
}

func (a *Adapter) handle(ctx context.Context, line string) {
	if !a.o.JSON && strings.TrimSpace(line) == "" {
		return
	}
	m := bot.Message{Platform: bot.Console, Channel: "terminal", User: a.o.User, Text: line, DM: true}
	r, err := a.o.Handler.Handle(ctx, m)
	if err != nil {
		a.log.Error("handle", "err", err)
	}
	if a.o.JSON {
		b, err := json.Marshal(r)
		if err != nil { // cannot happen for Reply; keep the one-line promise anyway
			b = []byte(`{"text":"internal error","entry":"none","confidence":0,"question":null,"diagnosis":null,"error_page":null}`)
		}
		a.write(string(b) + "\n")
		return
	}
	if r.Ignore {
		return
	}
	a.write(Render(r) + "\n")
}

// Render formats a reply for a terminal: Markdown-lite markers removed,
// bullets drawn, choices numbered, a hand-over summary shown as it would be
// posted.
func Render(r bot.Reply) string {
	var b strings.Builder
	b.WriteString(plain(r.Text))
	if q := r.Question; q != nil && len(q.Choices) > 0 {
		// Numbered, so "2" answers as well as the words do.
		b.WriteString("\n")
		for i, c := range q.Choices {
			if i > 0 {
				b.WriteString("  ")
			}
			fmt.Fprintf(&b, "%d) %s", i+1, c)
		}
	}
	if r.Handover != nil {
		b.WriteString("\n\n--- hand-over summary (posted to the support channel on Slack/Discord) ---\n")
		b.WriteString(plain(r.Handover.Summary))
		b.WriteString("\n---")
	}
	return b.String()
}

var (
	boldRe   = regexp.MustCompile(`\*\*([^*]+)\*\*`)
	italicRe = regexp.MustCompile(`(^|\s)_([^_]+)_`)
	codeRe   = regexp.MustCompile("`([^`]+)`")
)

func plain(s string) string {
	s = boldRe.ReplaceAllString(s, "$1")
	s = italicRe.ReplaceAllString(s, "$1$2")
	s = codeRe.ReplaceAllString(s, "$1")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		trimmed := strings.TrimLeft(l, " ")
		if strings.HasPrefix(trimmed, "- ") {
			lines[i] = l[:len(l)-len(trimmed)] + "• " + trimmed[2:]
		}
	}
	return strings.Join(lines, "\n")
}

func (a *Adapter) prompt() {
	if !a.o.JSON {
		a.write("> ")
	}
}

func (a *Adapter) write(s string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := io.WriteString(a.o.Out, s); err != nil {
		a.log.Warn("write", "err", err)
	}
}

// Platform implements monitor.Notifier.
func (a *Adapter) Platform() string { return bot.Console }

// Notify implements monitor.Notifier by printing the alert. In JSON mode it
// prints nothing: stdout carries replies only.
func (a *Adapter) Notify(_ context.Context, _ string, n monitor.Notice) (string, error) {
	if a.o.JSON {
		return "", nil
	}
	icon := map[monitor.Phase]string{
		monitor.PhaseOpened: "[ALERT]", monitor.PhaseReminder: "[STILL FAILING]", monitor.PhaseUpdate: "[UPDATE]",
		monitor.PhaseResolved: "[RECOVERED]", monitor.PhaseDigest: "[DIGEST]",
	}[n.Phase]
	title, text := plain(n.Title), plain(n.Text)
	// Notice texts usually open with the title; print it once.
	text = strings.TrimPrefix(text, title+"\n")
	a.write(fmt.Sprintf("\n%s %s\n%s\n> ", icon, title, text))
	return n.Incident, nil
}
