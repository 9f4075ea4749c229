package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"gptaccess/cloudflare"
	"gptaccess/format"
	"gptaccess/kb"
	"gptaccess/kb/diagnosis"
)

// Options configure an Engine. Zero values mean the documented defaults.
type Options struct {
	KB    *kb.KB           // required
	Model *diagnosis.Model // required

	// Store keeps conversations; nil keeps them in memory for the life of
	// the Engine (the `ask` command uses that: no state survives).
	Store Store
	// Status answers "status"; nil means the monitor is not configured.
	Status StatusReporter
	// Subscriptions handles subscribe/unsubscribe; nil means unavailable.
	Subscriptions Subscriptions
	// Stats answers "stats"; nil means unavailable.
	Stats StatsReader
	// Observer hears conclusions and feedback; nil means nobody.
	Observer Observer

	// Timeout is how long a conversation may stay idle; default 30 minutes.
	Timeout time.Duration
	// MaxMessageBytes bounds an inbound message; default 4096.
	MaxMessageBytes int
	// StatusWait bounds how long a diagnosis waits for the monitor's view
	// before going on without it; default 3 seconds.
	StatusWait time.Duration

	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default slog.Default()
	NewID  func() string    // conversation ids; default 8 random hex digits
}

// Engine turns Messages into Replies. It is safe for concurrent use.
type Engine struct {
	kb     *kb.KB
	model  *diagnosis.Model
	store  Store
	status StatusReporter
	subs   Subscriptions
	stats  StatsReader
	obs    Observer

	timeout    time.Duration
	maxBytes   int
	statusWait time.Duration
	now        func() time.Time
	log        *slog.Logger
	newID      func() string
	topicOnly  string // what the topic prefix alone matches

	// locks serialise work on one conversation inside this process; the
	// store's version check covers other replicas.
	locks [64]sync.Mutex
}

// New returns an Engine, applying defaults.
func New(o Options) (*Engine, error) {
	if o.KB == nil || o.Model == nil {
		return nil, errors.New("bot: KB and Model are required")
	}
	e := &Engine{
		kb: o.KB, model: o.Model, store: o.Store, status: o.Status, subs: o.Subscriptions, stats: o.Stats, obs: o.Observer,
		timeout: o.Timeout, maxBytes: o.MaxMessageBytes, statusWait: o.StatusWait,
		now: o.Now, log: o.Logger, newID: o.NewID,
	}
	if e.store == nil {
		e.store = newMemStore()
	}
	if e.obs == nil {
		e.obs = nobody{}
	}
	if e.timeout <= 0 {
		e.timeout = 30 * time.Minute
	}
	if e.maxBytes <= 0 {
		e.maxBytes = 4096
	}
	if e.statusWait <= 0 {
		e.statusWait = 3 * time.Second
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	e.log = e.log.With("component", "bot")
	if e.newID == nil {
		e.newID = randomID
	}
	e.topicOnly = e.kb.Match(topicPrefix).ID
	return e, nil
}

func randomID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Handle answers one message. Errors are for the log: the Reply is always
// fit to send (a friendly apology when something failed).
func (e *Engine) Handle(ctx context.Context, m Message) (Reply, error) {
	key := m.Key()
	mu := &e.locks[shard(key)]
	mu.Lock()
	defer mu.Unlock()

	// Another replica may change the conversation between our read and
	// our write (the store's version check says so): read it again and
	// apply the message to the newer state. A conflict is never the user's
	// problem, so the bound is generous; each wait is jittered so that two
	// replicas racing on one conversation fall out of step.
	for attempt := 1; ; attempt++ {
		r, err := e.handle(ctx, key, m)
		if errors.Is(err, ErrConflict) && attempt < maxAttempts && sleepJitter(ctx, attempt) {
			continue
		}
		if err != nil {
			e.log.Error("handle message", "platform", m.Platform, "channel", m.Channel, "attempts", attempt, "err", err)
			return Reply{Text: Sorry, Entry: "none"}, err
		}
		return r, nil
	}
}

// maxAttempts bounds how often one message is applied to a re-read
// conversation. Two writers racing on one conversation each win about
// half the rounds, so 50 attempts fail all together about once in 10^15.
const maxAttempts = 50

// sleepJitter waits a random time of up to 1 ms doubled per attempt (at
// most 20 ms) before attempt+1; it reports false when ctx ended first.
func sleepJitter(ctx context.Context, attempt int) bool {
	limit := min(time.Millisecond<<min(attempt, 5), 20*time.Millisecond)
	return Sleep(ctx, time.Duration(mrand.Int64N(int64(limit))+1))
}

// Sleep waits d, or until ctx ends; it reports whether the whole wait
// passed (false at once when ctx has ended).
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Sorry is the one apology every platform sends when handling a message
// failed: the engine's reply on error, and the delivery core's when the
// engine could not be asked at all.
const Sorry = "Sorry, something went wrong on my side. Please try again in a moment."

// UnusableButton is the one private note every platform sends for a click
// on a button its adapter cannot read (from an older conversation, or an
// older version of the bot).
const UnusableButton = "Sorry, I don't recognise that button (it may be from an older conversation). Mention me or use `/gptaccess diagnose` to start again."

func shard(key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % 64)
}

// turn is the work on one message: the loaded conversation and what to do
// with it once the reply is built.
type turn struct {
	e       *Engine
	m       Message
	conv    *Conversation // nil when there is none
	stored  bool          // a conversation was loaded from the store
	version int64         // the stored conversation's version
	save    bool          // store conv
	drop    bool          // the stored conversation is obsolete: delete it
	// restart says the user asked to start over: the monitor's outage,
	// already given as the cause, is not concluded again unasked.
	restart bool
	// effects are records (outcomes, unanswered messages) that happen
	// only once the conversation's new state is stored: a turn redone
	// after a conflict must not record them twice.
	effects []func(ctx context.Context)
}

// after runs f once the turn's conversation state is committed.
func (t *turn) after(f func(ctx context.Context)) { t.effects = append(t.effects, f) }

func (e *Engine) handle(ctx context.Context, key string, m Message) (Reply, error) {
	if r, bad := e.checkInput(m); bad {
		return r, nil
	}
	t := &turn{e: e, m: m}
	c, ok, err := e.store.Conversation(ctx, key)
	if err != nil {
		return Reply{}, err
	}
	if ok {
		t.conv, t.stored, t.version = &c, true, c.Version
	}

	r, err := t.respond(ctx)
	if err != nil {
		return Reply{}, err
	}
	switch {
	case t.save && t.conv != nil:
		if t.drop || t.stored {
			// A replacement takes the place of the stored row, checked
			// against the version read like any update.
			t.conv.Version = t.version
		}
		t.conv.Key = key
		t.conv.User = m.Platform + ":" + m.User
		t.conv.Updated = e.now()
		if err := e.store.SaveConversation(ctx, t.conv); err != nil {
			return Reply{}, err
		}
	case t.drop && t.stored:
		if err := e.store.DeleteConversation(ctx, key, t.version); err != nil {
			return Reply{}, err
		}
	}
	for _, f := range t.effects {
		f(ctx)
	}
	return r, nil
}

// checkInput refuses messages that are too large or not text, politely.
func (e *Engine) checkInput(m Message) (Reply, bool) {
	if m.Answer != nil {
		return Reply{}, false
	}
	bad := len(m.Text) > e.maxBytes || !isText(m.Text)
	if bad && !m.addressed() {
		// Nobody asked the bot: a huge or binary message in a watched
		// channel is none of its business.
		return Reply{Ignore: true}, true
	}
	if len(m.Text) > e.maxBytes {
		return Reply{Entry: "none", Text: fmt.Sprintf(
			"That message is too long for me (over %d KB). Please send just the error message or your question; for a pasted error page, the lines with the error code and Ray ID are enough.",
			e.maxBytes/1024)}, true
	}
	if !isText(m.Text) {
		return Reply{Entry: "none", Text: "I can only read plain text. Please type your question or paste the error message as text."}, true
	}
	return Reply{}, false
}

// isText reports whether s is UTF-8 text without control characters other
// than whitespace.
func isText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' || r == 0x7f {
			return false
		}
	}
	return true
}

// addressed reports whether the message was meant for the bot.
func (m Message) addressed() bool { return m.Mention || m.DM || m.Command || m.Answer != nil }

func (t *turn) respond(ctx context.Context) (Reply, error) {
	e, m := t.e, t.m

	// An idle conversation expires: say so if the user was answering it.
	if t.conv != nil && e.now().Sub(t.conv.Updated) > e.timeout {
		expired := t.conv.Pending != "" || m.Answer != nil
		t.conv, t.drop = nil, true
		if expired && (m.Answer != nil || t.looksLikeAnswer()) {
			return Reply{Entry: "none", Private: m.Answer != nil, Text: fmt.Sprintf(
				"That question expired after %s without an answer, so I've closed it. Say **diagnose** to start again, or ask me anything about Error 1020.",
				format.Span(e.timeout))}, nil
		}
	}

	if m.Answer != nil {
		return t.click(ctx)
	}

	// Not addressed to the bot: only answer inside its own conversations,
	// or in listen channels when confident.
	if !m.addressed() && t.conv == nil {
		if !m.Listen {
			return Reply{Ignore: true}, nil
		}
		return t.ambient(ctx)
	}

	text := strings.TrimSpace(m.Text)
	if cmd, rest := e.kb.Command(text); cmd != "" {
		return t.builtin(ctx, cmd, rest)
	}
	if t.conv != nil && t.conv.Pending != "" && !t.conv.Paused {
		return t.answer(ctx, text, false)
	}
	if t.conv != nil && t.conv.Pending != "" && t.conv.Paused {
		// A paused diagnosis still takes a plain answer to its question.
		if _, ok := e.parseAnswer(t.conv.Pending, text); ok {
			t.conv.Paused = false
			return t.answer(ctx, text, false)
		}
	}
	if t.conv != nil && t.conv.Offer != "" && t.conv.Pending == "" {
		// "yes" or "1" to "Find my cause" takes the offer.
		if v, ok := e.parseAnswer(offerFact, text); ok && v == diagnosis.Yes {
			return t.takeOffer(ctx, nil)
		}
	}
	return t.fresh(ctx, text)
}

// looksLikeAnswer reports whether the text reads as a reply to a question
// rather than a new message.
func (t *turn) looksLikeAnswer() bool {
	_, ok := t.e.parseAnswer("vpn", t.m.Text)
	return ok
}

func (t *turn) builtin(ctx context.Context, cmd, rest string) (Reply, error) {
	switch cmd {
	case "help":
		return t.entryReply("help", 1), nil
	case "start over":
		t.finish("unknown")
		t.restart = true
		r, err := t.startDiagnosis(ctx, nil, nil)
		r.Text = "OK, starting over.\n\n" + r.Text
		return r, err
	case "cancel":
		had := t.conv != nil && (t.conv.Pending != "" || t.conv.Cause != "")
		t.finish("unknown")
		t.conv, t.drop = nil, true
		if had {
			return Reply{Entry: "none", Text: "Cancelled. Mention me or say **diagnose** whenever you want to try again."}, nil
		}
		return Reply{Entry: "none", Text: "Nothing to cancel. Ask me about Error 1020, or say **help**."}, nil
	case "status":
		return t.statusReply(ctx), nil
	case "diagnose":
		if t.conv != nil && t.conv.Pending != "" {
			t.conv.Paused = false
			return t.reask("We're already working on it. "), nil
		}
		return t.takeOffer(ctx, volunteered(t.e.model.Extract(rest)))
	case "ask":
		return t.fresh(ctx, rest)
	case "resume":
		if t.conv == nil || t.conv.Pending == "" {
			return Reply{Entry: "none", Text: "There's no diagnosis to resume. Say **diagnose** to start one."}, nil
		}
		t.conv.Paused = false
		return t.reask("Picking up where we left off. "), nil
	case "subscribe", "unsubscribe":
		return t.subscription(ctx, cmd), nil
	case "stats":
		return t.statsReply(ctx), nil
	}
	return Reply{}, fmt.Errorf("unknown built-in %q", cmd)
}

// reading is what the bot makes of a message's text, read once: what it
// asks (entry and confidence), whether its writer reports hitting the
// error, the facts it volunteers, and a pasted error page.
type reading struct {
	page    cloudflare.Page
	hasPage bool
	match   kb.Match
	facts   map[string]string
	// mentions says the text names the error (1020, access denied), which
	// with volunteered facts makes a report.
	mentions bool
	// ask is what a question typed around a pasted page asks (ID none
	// when there is none).
	ask kb.Match
	// concludes says the volunteered facts alone conclude a cause ("I'm
	// on NordVPN and get 1020").
	concludes bool
	// smallTalk is "hello" or "thanks" for a message that is only that.
	smallTalk string
}

func (e *Engine) read(text string) reading {
	page, hasPage := cloudflare.ParsePage(text)
	rd := reading{page: page, hasPage: hasPage, match: e.kb.Match(text), facts: volunteered(e.model.Extract(text)),
		mentions: e.kb.MentionsError(text), smallTalk: e.kb.SmallTalk(text)}
	if len(rd.facts) > 0 {
		st := e.model.Next(rd.facts, nil, nil)
		rd.concludes = st.Cause != "" && st.Cause != diagnosis.Unknown
	}
	if hasPage && page.RayID == "" && !strings.Contains(strings.TrimSpace(text), "\n") && rd.match.Question {
		// "I keep seeing 'Access denied | chatgpt.com used Cloudflare to
		// restrict access', what does it mean?" quotes a page's title in a
		// question; a pasted page has its lines and its Ray ID.
		rd.hasPage = false
	}
	if rd.hasPage {
		// A question typed around a pasted page ("what does this mean?")
		// is what the writer asks; the page is the report.
		if q := questionLines(text); q != "" {
			// "What should I do?" next to a page asks for the fix, not for
			// the bot's help.
			if m := e.kb.Match(q); m.ID != kb.NoneID && m.ID != "fix" && m.ID != "help" {
				rd.ask = m
			}
		}
	}
	return rd
}

// pageHeadings are the questions a Cloudflare error page itself asks.
var pageHeadings = []string{"what happened?", "why have i been blocked?", "what can i do to resolve this?", "was this page helpful?"}

// questionLines returns the lines of text that ask something and are not
// headings of a pasted error page.
func questionLines(text string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		low := strings.ToLower(strings.TrimSpace(l))
		if !strings.ContainsAny(low, "?¿") || slices.ContainsFunc(pageHeadings, func(h string) bool { return strings.Contains(low, h) }) {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, " ")
}

// action is what the bot does with a message that answers no open
// question. decide chooses it; the table in the README ("How the bot reads
// a message") lists each row with an example.
type action int

const (
	actNotUnderstood action = iota // nothing in it is about ChatGPT access
	actSmallTalk                   // a greeting or a thank-you
	actStatus                      // asks whether ChatGPT is up
	actAnswer                      // a question: answer it
	actAnswerOffer                 // a question that is also a report: answer, offer the diagnosis
	actExplainOffer                // a report that asks what the error means: what-is, offer the diagnosis
	actAlsoOffer                   // a report that asks something specific: that answer, offer the diagnosis
	actDiagnose                    // a report with no specific question: diagnose at once
	actPage                        // a pasted 1020 page: diagnose with the page kept
	actOtherPage                   // a pasted page of another error: explain that error
)

// specificQuestion are the entries a report can ask about besides the
// fix itself.
var specificQuestion = map[string]bool{
	"causes": true, "fix-wait": true, "permanent": true, "data-risk": true, "fix-support": true,
	"prevent": true, "what-is": true,
}

// decide is the one place that turns a reading into an action.
func decide(rd reading) action {
	m := rd.match
	switch {
	case rd.hasPage && rd.page.Code != 0 && rd.page.Code != 1020:
		return actOtherPage
	case rd.hasPage && rd.ask.ID != "" && rd.ask.ID != kb.NoneID:
		return actAnswerOffer
	case rd.hasPage:
		return actPage
	case m.ID == kb.NoneID && rd.smallTalk != "":
		return actSmallTalk
	case m.ID == kb.NoneID:
		if len(rd.facts) > 0 && rd.mentions {
			// "error 1020 right after I changed my password": facts
			// about the writer's situation next to the error.
			return actDiagnose
		}
		return actNotUnderstood
	case m.ID == "status":
		return actStatus
	case m.ID == "other-code":
		// Another error (429 from the API, a 1015 page) is not 1020: the
		// facts that name 1020's causes ("our script calls the API") do
		// not diagnose it, and its entry says what to do.
		return actAnswer
	}
	// A statement about the error that asks nothing ("access denied at
	// the offsite, half the room has it") is a report too.
	report := m.Report || !m.Question && rd.mentions && (m.ID == "fix" || len(rd.facts) > 0)
	switch {
	case !report && m.ID == "fix":
		// "How do I fix 1020?": the five steps, and the diagnosis that
		// picks the one that fits one click away.
		return actAnswerOffer
	case !report:
		return actAnswer
	case m.Meaning && !rd.concludes && (m.ID == "fix" || m.ID == "what-is"):
		// "chatgpt says access denied 1020, what does that even mean?":
		// what the error is, with the diagnosis one click away.
		return actExplainOffer
	case m.ID == "fix" && m.Question && specificQuestion[m.Also]:
		// "chatgpt says 1020, did I get hacked?": a report that asks
		// something specific gets that answer, with the diagnosis one
		// click away.
		return actAlsoOffer
	case m.ID == "fix", rd.concludes && !m.Question:
		// A plain report, or one whose facts already name the cause:
		// the diagnosis gives its steps and asks "Did this fix it?".
		return actDiagnose
	}
	// A report that names a topic ("works in incognito but not in my
	// normal window", "I'm on NordVPN and get 1020") gets that topic's
	// steps at once, with the diagnosis one click away.
	return actAnswerOffer
}

// fresh handles a message that is not an answer to an open question.
func (t *turn) fresh(ctx context.Context, text string) (Reply, error) {
	if text == "" {
		return t.entryReply("help", 1), nil
	}
	return t.freshRead(ctx, text, t.e.read(text))
}

// freshRead is fresh with the text already read.
func (t *turn) freshRead(ctx context.Context, text string, rd reading) (Reply, error) {
	e := t.e
	match := rd.match
	if match.ID == kb.NoneID && t.conv != nil && t.conv.Topic != "" && rd.smallTalk == "" && !rd.hasPage {
		// A follow-up ("why does it happen?", "and how do I stop it?")
		// leans on the topic of the conversation: read it as a question
		// about 1020. The topic words alone match what-is, so only another
		// entry shows that the message itself asked something.
		if m := e.kb.Match(topicPrefix + text); m.ID != kb.NoneID && m.ID != e.topicOnly && !m.Report && m.Confidence >= followUpConfidence {
			rd.match = m
		}
	}
	act := decide(rd)
	switch act {
	case actOtherPage:
		r := t.entryReply("other-code", 1)
		r.ErrorPage = errorPage(rd.page)
		r.Text = fmt.Sprintf("That page shows Cloudflare error **%d**, not 1020.\n\n", rd.page.Code) + r.Text
		return r, nil
	case actPage:
		return t.startDiagnosis(ctx, rd.facts, pageOf(rd.page))
	case actDiagnose:
		r, err := t.startDiagnosis(ctx, rd.facts, nil)
		if r.Question != nil && r.Diagnosis == nil {
			r.Text = whatIsLine + "\n\n" + r.Text
		}
		return r, err
	case actStatus:
		r := t.statusReply(ctx)
		if rd.match.Report && (t.conv == nil || t.conv.Pending == "") {
			// "Is ChatGPT down? I get access denied": the live status,
			// and the diagnosis for the writer's own side.
			t.remember("status")
			r = t.offer(r, rd, true)
		}
		return t.withResume(r), nil
	case actSmallTalk:
		return t.smallTalk(rd.smallTalk), nil
	case actNotUnderstood:
		return t.notUnderstood(ctx, text, rd.match)
	}
	entry, conf := rd.match.ID, rd.match.Confidence
	if rd.hasPage {
		entry, conf = rd.ask.ID, rd.ask.Confidence
	}
	switch act {
	case actExplainOffer:
		entry, act = "what-is", actAnswerOffer
	case actAlsoOffer:
		entry, act = rd.match.Also, actAnswerOffer
	}
	r := t.entryReply(entry, conf)
	t.remember(entry)
	if act == actAnswerOffer && t.conv.Pending == "" {
		r = t.offer(r, rd, rd.match.Report || rd.hasPage)
	}
	return t.withResume(r), nil
}

// remember keeps the conversation with topic as its subject: follow-ups in
// a thread need no mention, and "why does it happen?" needs the topic.
func (t *turn) remember(topic string) {
	if t.conv == nil {
		t.conv = &Conversation{ID: t.e.newID(), Started: t.e.now()}
	}
	t.conv.Topic, t.save = topic, true
}

// whatIsLine is the one line on what 1020 is that comes before the first
// question of a diagnosis started from a plain report.
const whatIsLine = "Error 1020 means Cloudflare's firewall in front of ChatGPT turned your connection away. Let's find out why: a few quick questions."

// offerFact is the pseudo-fact of the "Find my cause" offer.
const offerFact = "diagnose"

// offer adds the diagnosis offer to an answer, and keeps what the message
// volunteered for when it is taken. reported says the writer is hitting
// the error: the reply then says why it offers.
func (t *turn) offer(r Reply, rd reading, reported bool) Reply {
	c := t.conv
	c.Turn++
	c.Offer = c.ID + ":" + strconv.Itoa(c.Turn)
	c.Facts = map[string]string{}
	for f, v := range rd.facts {
		c.Facts[f] = v
	}
	if rd.hasPage {
		c.Page = pageOf(rd.page)
		r.ErrorPage = c.Page
	}
	r.Question = &Question{ID: c.Offer, Fact: offerFact, Text: "Want me to find the cause on your side?",
		Choices: []string{"Find my cause"}}
	if reported {
		r.Text += "\n\n_You're hitting this yourself: say **diagnose** (or press **Find my cause**) and I'll work out your cause with a few quick questions._"
	}
	return r
}

// smallTalk answers a greeting or a thank-you addressed to the bot; in a
// thread, one that is not for the bot gets no reply.
func (t *turn) smallTalk(kind string) Reply {
	if !t.m.addressed() {
		return Reply{Ignore: true}
	}
	if kind == "thanks" {
		return Reply{Entry: "none", Text: "You're welcome! Mention me again if 1020 comes back."}
	}
	return t.withResume(Reply{Entry: "none", Text: "Hi! I help when ChatGPT says **Error 1020: Access denied** or won't load from here. " +
		"Tell me what you see (or paste the error page), ask me a question about it, or say **help** for what I can do."})
}

// notUnderstood says the message was not understood, recording it
// (redacted; never a direct message's text) for the operator.
func (t *turn) notUnderstood(ctx context.Context, text string, match kb.Match) (Reply, error) {
	e := t.e
	if !t.m.addressed() {
		// A follow-up in the bot's thread that is not for the bot ("ok",
		// "brb"): stay quiet rather than say "I didn't understand".
		return Reply{Ignore: true}, nil
	}
	u := unmatched(t.m, text, e.now())
	t.after(func(ctx context.Context) {
		if err := e.store.RecordUnanswered(ctx, u); err != nil {
			e.log.Warn("record unanswered", "err", err)
		}
	})
	r := t.entryReply("help", match.Confidence)
	r.Entry = "none"
	r.Text = "I'm not sure I understood that. " + r.Text
	return t.withResume(r), nil
}

// ambient answers an un-mentioned message in a listen channel only when the
// bot is confident it is about ChatGPT access.
func (t *turn) ambient(ctx context.Context) (Reply, error) {
	text := strings.TrimSpace(t.m.Text)
	rd := t.e.read(text)
	page, hasPage, match := rd.page, rd.hasPage, rd.match
	confident := hasPage && page.Code != 0 ||
		match.ID != "none" && match.ID != "help" && match.Confidence >= ambientConfidence
	if !confident {
		return Reply{Ignore: true}, nil
	}
	return t.freshRead(ctx, text, rd)
}

// topicPrefix puts a follow-up in the context of the conversation.
const topicPrefix = "chatgpt error 1020: "

// followUpConfidence is the bar for reading an unmatched message as a
// follow-up on the conversation's topic.
const followUpConfidence = 0.5

// ambientConfidence is the bar for answering messages nobody addressed to
// the bot: far above the matching threshold, because a wrong answer to
// small talk is worse than silence.
const ambientConfidence = 0.6

// withResume reminds the user of a paused diagnosis after a side answer.
func (t *turn) withResume(r Reply) Reply {
	if t.conv != nil && t.conv.Pending != "" {
		t.conv.Paused = true
		t.save = true
		r.Text += "\n\n_We were in the middle of finding your cause: say **resume** to continue, or just answer the last question._"
	}
	return r
}

func (t *turn) entryReply(id string, confidence float64) Reply {
	en, ok := t.e.kb.Entry(id)
	if !ok {
		return Reply{Entry: "none", Text: "Sorry, I don't have that part of the guide."}
	}
	return Reply{Entry: id, Confidence: round2(confidence), Text: "**" + en.Title + "**\n\n" + strings.TrimSpace(en.Body)}
}

func round2(f float64) float64 {
	if f > 1 {
		f = 1
	}
	if f < 0 {
		f = 0
	}
	return float64(int(f*100+0.5)) / 100
}

// pageOf is the error page of a pasted 1020 page. OpenAI's own block page
// ("Sorry, you have been blocked") carries no code; it is served for 1020.
func pageOf(p cloudflare.Page) *ErrorPage {
	ep := errorPage(p)
	if ep.Code == 0 {
		ep.Code = 1020
	}
	return ep
}

func errorPage(p cloudflare.Page) *ErrorPage {
	return &ErrorPage{Code: p.Code, RayID: p.RayID, DataCenter: p.DataCenter, Country: p.Country}
}

func (t *turn) statusReply(ctx context.Context) Reply {
	r := Reply{Entry: "status", Confidence: 1}
	if t.e.status == nil {
		en, _ := t.e.kb.Entry("status")
		r.Text = "Live checks are not configured on this bot, so I can't tell you right now whether ChatGPT is reachable from here. " +
			"OpenAI's own status page is https://status.openai.com." + "\n\n" + strings.TrimSpace(en.Body)
		return r
	}
	rep, err := t.e.status.Status(ctx)
	if err != nil {
		t.e.log.Warn("status", "err", err)
		r.Text = "I couldn't run the reachability check just now. OpenAI's own status page is https://status.openai.com."
		return r
	}
	r.Text = rep.Text
	return r
}

func (t *turn) subscription(ctx context.Context, cmd string) Reply {
	e, m := t.e, t.m
	r := Reply{Entry: "status", Confidence: 1, Public: true}
	if e.subs == nil || m.Platform == Console {
		r.Text = "Alert subscriptions are only available in Slack and Discord channels."
		r.Public = false
		return r
	}
	var err error
	if cmd == "subscribe" {
		err = e.subs.Subscribe(ctx, m.Platform, m.Channel)
		r.Text = "This channel will now get ChatGPT reachability alerts and recoveries. Use **unsubscribe** to stop them."
	} else {
		err = e.subs.Unsubscribe(ctx, m.Platform, m.Channel)
		r.Text = "This channel will no longer get reachability alerts (channels set in the bot's config still do)."
	}
	if err != nil {
		e.log.Error(cmd, "err", err)
		r.Text, r.Public = Sorry, false
	}
	return r
}

func (t *turn) statsReply(ctx context.Context) Reply {
	// Only the asker sees it, and only aggregates (see privateStats).
	r := Reply{Entry: "none", Private: true}
	if t.e.stats == nil {
		r.Text = "Statistics are not available on this bot."
		return r
	}
	s, err := t.e.stats.Stats(ctx, t.e.now().Add(-7*24*time.Hour))
	if err != nil {
		t.e.log.Error("stats", "err", err)
		r.Text = Sorry
		return r
	}
	r.Text = FormatStats(privateStats(s), "the last 7 days")
	return r
}

// FormatStats renders Stats for chat and the terminal.
func FormatStats(s Stats, period string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**Diagnoses in %s:** %d\n", period, s.Diagnoses)
	if s.Diagnoses > 0 {
		fmt.Fprintf(&b, "- resolved: %d, not resolved: %d, no feedback: %d (resolution rate %.0f%%)\n",
			s.Resolved, s.Unresolved, s.NoFeedback, s.ResolutionRate*100)
		fmt.Fprintf(&b, "- handed over to a human: %d\n", s.HandedOver)
		fmt.Fprintf(&b, "- median questions to a diagnosis: %.1f\n", s.MedianQuestions)
		b.WriteString("**By cause:**\n")
		for _, c := range sortedCauses(s.ByCause) {
			fmt.Fprintf(&b, "- %s: %d\n", c, s.ByCause[c])
		}
	}
	if s.UnansweredCount > 0 {
		fmt.Fprintf(&b, "**Messages I could not answer:** %d\n", s.UnansweredCount)
	}
	if len(s.Unanswered) > 0 {
		b.WriteString("**Most common questions I could not answer** (redacted; direct messages left out):\n")
		for _, u := range s.Unanswered {
			fmt.Fprintf(&b, "- %q × %d\n", u.Text, u.Count)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}
