package bot

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gptaccess/kb"
	"gptaccess/kb/diagnosis"
)

// fixedFact is the pseudo-fact of the "Did this fix it?" question.
const fixedFact = "fixed"

// monitorFact is the diagnosis model's pseudo-fact for "the monitor sees
// ChatGPT down from here or an official incident".
const monitorFact = diagnosis.MonitorDown

// maxRetries is how often an unintelligible answer gets the question again
// before the bot moves on as "not sure".
const maxRetries = 2

// startDiagnosis begins a diagnosis from the facts the user volunteered
// and what the monitor knows.
func (t *turn) startDiagnosis(ctx context.Context, facts map[string]string, page *ErrorPage) (Reply, error) {
	e := t.e
	c := &Conversation{ID: e.newID(), Facts: map[string]string{}, Started: e.now(), Page: page}
	// A new diagnosis replaces whatever was stored under the key.
	t.conv, t.save, t.drop = c, true, true
	for f, v := range facts {
		c.Facts[f] = v
	}

	var preface []string
	if page != nil {
		p := "I can see a Cloudflare **Error 1020** page"
		if page.RayID != "" {
			p += fmt.Sprintf(" (Ray ID `%s`; I'll keep it in case we need support)", page.RayID)
		}
		preface = append(preface, p+".")
	}
	if rep, ok := t.latestStatus(ctx); ok {
		if p := fromMonitor(rep, page, c, t.restart); p != "" {
			preface = append(preface, p)
		}
	}
	r, err := t.next(ctx)
	r.ErrorPage = page
	if len(preface) > 0 {
		r.Text = strings.Join(preface, " ") + "\n\n" + r.Text
	}
	return r, err
}

// latestStatus asks the monitor for its view without holding the user up
// for long.
func (t *turn) latestStatus(ctx context.Context) (StatusReport, bool) {
	if t.e.status == nil {
		return StatusReport{}, false
	}
	if l, ok := t.e.status.(LatestReporter); ok {
		return l.Latest(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, t.e.statusWait)
	defer cancel()
	rep, err := t.e.status.Status(ctx)
	if err != nil {
		return StatusReport{}, false
	}
	return rep, true
}

// LatestReporter is an optional capability of a StatusReporter: the latest
// results without running a fresh check. The diagnosis prefers it.
type LatestReporter interface {
	Latest(ctx context.Context) (StatusReport, bool)
}

// next asks the next question or concludes.
func (t *turn) next(ctx context.Context) (Reply, error) {
	c := t.conv
	step := t.e.model.Next(c.Facts, c.Asked, slices.Concat(c.Tried, c.RuledOut))
	if step.Fact != "" {
		c.Pending, c.Retries, c.Paused = step.Fact, 0, false
		c.Asked = append(c.Asked, step.Fact)
		c.Turn++
		return t.question(""), nil
	}
	return t.conclude(ctx, step.Cause)
}

// question renders the pending question.
func (t *turn) question(prefix string) Reply {
	c := t.conv
	q := &Question{ID: c.ID + ":" + strconv.Itoa(c.Turn), Fact: c.Pending}
	if c.Pending == fixedFact {
		q.Text, q.Choices = "Did this fix it?", []string{"yes", "no"}
	} else {
		f, _ := t.e.model.Fact(c.Pending)
		q.Text, q.Choices = f.Question, slices.Clone(f.Choices)
	}
	// The choices are not in the text: adapters show them as buttons, or
	// as a numbered list where there are none (the terminal).
	return Reply{Entry: "fix", Confidence: 1, Question: q, Text: prefix + q.Text}
}

func (t *turn) reask(prefix string) Reply {
	t.save = true
	r := t.question(prefix)
	if t.conv.Cause != "" && t.conv.Pending == fixedFact {
		r.Diagnosis = t.diagnosis(t.conv.Cause)
	}
	return r
}

// click handles a button press.
func (t *turn) click(ctx context.Context) (Reply, error) {
	a := t.m.Answer
	c := t.conv
	if c != nil && c.Offer != "" && a.Question == c.Offer && c.Pending == "" {
		return t.takeOffer(ctx, nil)
	}
	if c == nil || c.Pending == "" || a.Question != c.ID+":"+strconv.Itoa(c.Turn) {
		return Reply{Entry: "none", Private: true,
			Text: "That question is no longer open (it was answered, expired or belongs to someone else). Say **diagnose** to start a new diagnosis."}, nil
	}
	c.Paused = false
	return t.answer(ctx, a.Choice, true)
}

// takeOffer starts the diagnosis offered with an answer, with the facts
// the offering message volunteered and any in more.
func (t *turn) takeOffer(ctx context.Context, more map[string]string) (Reply, error) {
	facts := map[string]string{}
	var page *ErrorPage
	if t.conv != nil {
		maps.Copy(facts, t.conv.Facts)
		page = t.conv.Page
	}
	maps.Copy(facts, more)
	return t.startDiagnosis(ctx, facts, page)
}

// parseAnswer interprets an answer to fact, including the yes/no feedback
// question that the model does not know about.
func (e *Engine) parseAnswer(fact, text string) (string, bool) {
	if fact == fixedFact || fact == offerFact || fact == "" {
		// Every model fact parses plain yes/no; vpn is one the design fixes.
		fact = "vpn"
	}
	return e.model.ParseAnswer(fact, text)
}

// howMaxWords bounds a question about the open question ("how do I turn
// the extensions off?"); a longer one asks something of its own.
const howMaxWords = 8

// asksHow reports whether text starts by asking how or what.
func asksHow(text string) bool {
	w, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(text)), " ")
	w = strings.Trim(w, "?¿!.,")
	switch w {
	case "how", "what", "what's", "whats", "where", "wie", "was", "wo", "comment", "quoi", "où", "cómo", "como", "qué", "que", "dónde", "onde", "come", "cosa", "dove":
		return true
	}
	return false
}

// answer applies an answer to the open question.
func (t *turn) answer(ctx context.Context, text string, button bool) (Reply, error) {
	e, c := t.e, t.conv
	t.save = true
	v, ok := e.parseAnswer(c.Pending, text)
	if i := strings.LastIndexAny(text, "?？"); !ok && !button && i >= 0 && i < len(text)-1 {
		// "what's a vpn? I don't think so": a question, then the answer.
		v, ok = e.parseAnswer(c.Pending, text[i+1:])
	}
	if !ok && !button {
		rd := e.read(text)
		if rd.hasPage {
			// A pasted error page at any step: the error is still there.
			// Keep the page (its Ray ID is for support) and its facts.
			if c.Page == nil {
				c.Page = pageOf(rd.page)
			}
			for f, fv := range t.newFacts(text) {
				c.Facts[f] = fv
			}
			kept := "Thanks, I've kept that error page"
			if c.Page.RayID != "" {
				kept += fmt.Sprintf(" (Ray ID `%s`)", c.Page.RayID)
			}
			kept += " for support. "
			page := c.Page
			if c.Pending == fixedFact {
				// The error is still there: that is a "no".
				r, err := t.feedback(ctx, diagnosis.No)
				r.Text, r.ErrorPage = kept+r.Text, page
				return r, err
			}
			r := t.reask(kept)
			r.ErrorPage = page
			return r, nil
		}
		// "How do I do that?", "what's that?": a question about the
		// open question gets its how-to, then the question again. Asked
		// again, the writer cannot check it: that is "not sure", and the
		// diagnosis goes on without it (rather than taking "how do I do
		// that" for a question to the bot about itself).
		if m := rd.match; m.Question && c.Pending != fixedFact && len(strings.Fields(text)) <= howMaxWords &&
			(m.ID == kb.NoneID || m.ID == "help" || e.model.Mentions(c.Pending, text) && asksHow(text)) {
			if f, ok := e.model.Fact(c.Pending); ok && f.How != "" {
				if c.Retries == 0 {
					c.Retries++
					return t.reask(f.How + "\n\n"), nil
				}
				c.Facts[c.Pending] = diagnosis.Unsure
				c.Pending = ""
				r, err := t.next(ctx)
				r.Text = "No problem, let's leave that one.\n\n" + r.Text
				return r, err
			}
		}
		// A new question in the middle of a diagnosis is answered; the
		// diagnosis waits.
		if m := rd.match; m.ID != kb.NoneID && m.Question && !m.Report && m.Confidence >= sideQuestionConfidence {
			return t.withResume(t.entryReply(m.ID, m.Confidence)), nil
		}
		switch e.kb.SmallTalk(text) {
		case "hello":
			return t.reask("Hi! We're in the middle of finding your cause. "), nil
		case "thanks":
			return t.reask("You're welcome! One more thing: "), nil
		}
		// Not an answer to this question but facts about another ("works
		// on my phone with mobile data"): take them and choose again; the
		// open question may come back if it still matters.
		if c.Pending != fixedFact {
			if facts := t.newFacts(text); len(facts) > 0 {
				for f, fv := range facts {
					c.Facts[f] = fv
				}
				if av, p := e.kb.ReadAnswer(c.Pending, text); av != "" && p >= answerConfidence && e.model.Mentions(c.Pending, text) {
					// It names the question's subject, so it answers it
					// too ("turned the extensions off and nothing
					// changed"): asking again would ask what was said.
					c.Facts[c.Pending] = av
				} else {
					c.Asked = slices.DeleteFunc(c.Asked, func(f string) bool { return f == c.Pending })
				}
				c.Pending = ""
				return t.next(ctx)
			}
			// Free text the answer phrases do not cover ("InPrivate works
			// yes", "disabled everything, still 1020"): the answer
			// classifier reads it. Asking again rarely gets a clearer
			// answer from someone who answered in their own words, so
			// when the reading is unsure the answer counts as "not sure"
			// and the diagnosis moves on; only text with nothing the bot
			// knows ("purple") gets the question again.
			if av, p := e.kb.ReadAnswer(c.Pending, text); av != "" {
				v, ok = diagnosis.Unsure, true
				if p >= answerConfidence {
					v = av
				}
			}
		}
	}
	if !ok && !button {
		c.Retries++
		if c.Retries <= maxRetries {
			return t.reask("Sorry, I didn't get that. "), nil
		}
		v = diagnosis.Unsure
	}
	if c.Pending == fixedFact {
		return t.feedback(ctx, v)
	}
	c.Facts[c.Pending] = v
	// Extra words may carry more facts ("no, but it works on my phone").
	if !button {
		for f, fv := range t.newFacts(text) {
			c.Facts[f] = fv
		}
	}
	c.Pending = ""
	return t.next(ctx)
}

// volunteered reads facts volunteered in free text. "Everyone gets it",
// said in a report, means the people around the writer ("nobody in the
// Valencia office can get in", "1020 for everyone at the office, I can
// from home though"): their own network, not people everywhere. Whether
// people elsewhere see it too is asked, or comes from the monitor; a
// wrong "ChatGPT is down" is worse than one more question.
func volunteered(facts map[string]string) map[string]string {
	if facts["others_affected"] == diagnosis.Yes {
		delete(facts, "others_affected")
		if _, known := facts["same_network_others"]; !known {
			facts["same_network_others"] = diagnosis.Yes
		}
	}
	return facts
}

// newFacts returns the facts volunteered in text that are not known yet.
func (t *turn) newFacts(text string) map[string]string {
	out := map[string]string{}
	for f, v := range volunteered(t.e.model.Extract(text)) {
		if _, known := t.conv.Facts[f]; !known {
			out[f] = v
		}
	}
	return out
}

// answerConfidence is the bar for the answer classifier's reading of a
// free-text answer; below it the answer counts as "not sure".
const answerConfidence = 0.5

// sideQuestionConfidence is the bar for treating an unparseable answer as
// a new question rather than a garbled answer.
const sideQuestionConfidence = 0.5

// conclude gives the steps for cause and asks whether they worked.
func (t *turn) conclude(ctx context.Context, cause string) (Reply, error) {
	e, c := t.e, t.conv
	d := t.diagnosis(cause)
	c.Cause, c.Pending, c.Retries = cause, fixedFact, 0
	c.Tried = append(c.Tried, cause)
	c.Turn++
	t.record("unknown", false)

	var b strings.Builder
	cs, _ := e.model.Cause(cause)
	if cause == "unknown" {
		b.WriteString("I couldn't pin down a single cause from your answers, so here are the general steps, in order.")
	} else {
		fmt.Fprintf(&b, "It looks like the cause is **%s**. %s", cs.Title, strings.TrimSpace(e.model.ExplanationFor(cause, c.Facts)))
	}
	for _, id := range d.Steps {
		en, ok := e.kb.Entry(id)
		if !ok {
			continue
		}
		if id == "status" {
			// What the checks see now, not what they could see.
			if rep, ok := t.latestStatus(ctx); ok && rep.Text != "" {
				fmt.Fprintf(&b, "\n\n**What my checks see right now**\n%s", strings.TrimSpace(rep.Text))
				continue
			}
		}
		fmt.Fprintf(&b, "\n\n**%s**\n%s", en.Title, strings.TrimSpace(en.Body))
	}
	if cause == "unknown" {
		b.WriteString("\n\nIf none of this helps, answer **no** below and I'll hand you over to a human with a summary.")
	}
	b.WriteString("\n\n")
	r := t.question(b.String())
	r.Diagnosis = d
	t.after(func(context.Context) { t.e.obs.Diagnosed(d.Cause) })
	if len(d.Steps) > 0 {
		r.Entry = d.Steps[0]
	}
	if c.Page != nil {
		r.ErrorPage = c.Page
	}
	return r, nil
}

func (t *turn) diagnosis(cause string) *Diagnosis {
	cs, _ := t.e.model.Cause(cause)
	var facts map[string]string
	if t.conv != nil {
		facts = t.conv.Facts
	}
	return &Diagnosis{Cause: cause, Title: cs.Title, Steps: t.e.model.StepsFor(cause, facts)}
}

// feedback handles the answer to "Did this fix it?".
func (t *turn) feedback(ctx context.Context, v string) (Reply, error) {
	c := t.conv
	if v == diagnosis.Yes {
		t.record("yes", false)
		t.answered(diagnosis.Yes)
		t.conv, t.drop, t.save = nil, true, false
		return Reply{Entry: "none", Confidence: 1, Text: "Great, glad that fixed it! If it comes back, just mention me again."}, nil
	}
	c.Pending = ""
	t.answered(diagnosis.No)
	// "Not sure" is no fix either: look further before handing over.
	if c.Cause != "unknown" {
		step := t.e.model.Next(c.Facts, c.Asked, slices.Concat(c.Tried, c.RuledOut))
		if step.Fact != "" || step.Cause != "unknown" {
			r, err := t.next(ctx)
			r.Text = "Sorry that didn't do it. Let's look at another possible cause.\n\n" + r.Text
			return r, err
		}
	}
	return t.handover(ctx), nil
}

// answered tells the observer the answer to "Did this fix it?", once the
// turn is stored.
func (t *turn) answered(v string) { t.after(func(context.Context) { t.e.obs.Feedback(v) }) }

// handover ends the diagnosis with a summary for a human.
func (t *turn) handover(ctx context.Context) Reply {
	c, m := t.conv, t.m
	t.record("no", true)
	h := &Handover{Platform: m.Platform, Channel: m.Channel, Thread: m.Thread, User: m.User, Summary: t.summary()}
	t.conv, t.drop, t.save = nil, true, false
	return Reply{Entry: "fix-support", Confidence: 1, Handover: h, Diagnosis: t.diagnosisOf(c),
		Text: "Sorry the steps didn't fix it. I've passed a summary to a human supporter, who will follow up here. " +
			"If you contact OpenAI support yourself, include the Ray ID from the error page."}
}

func (t *turn) diagnosisOf(c *Conversation) *Diagnosis {
	if c == nil || c.Cause == "" {
		return nil
	}
	return t.diagnosis(c.Cause)
}

// summary describes the conversation for a human. It holds facts, causes
// and steps, never the user's IP (error pages are stored without it).
func (t *turn) summary() string {
	c, m := t.conv, t.m
	var b strings.Builder
	fmt.Fprintf(&b, "**Hand-over: Error 1020 not fixed** (%s", m.Platform)
	if m.User != "" {
		fmt.Fprintf(&b, ", user %s", m.User)
	}
	if m.Channel != "" {
		fmt.Fprintf(&b, ", channel %s", m.Channel)
	}
	b.WriteString(")\n")
	facts := make([]string, 0, len(c.Facts))
	var inferred []string
	for f, v := range c.Facts {
		from := slices.Contains(c.Inferred, f)
		switch f {
		case monitorFact:
			f = "monitor saw an outage"
		case diagnosis.MonitorNetwork:
			f = "our own network blocks ChatGPT"
		}
		if from {
			inferred = append(inferred, f+": "+v)
			continue
		}
		facts = append(facts, f+": "+v)
	}
	sort.Strings(facts)
	if len(facts) == 0 {
		facts = []string{"none given"}
	}
	fmt.Fprintf(&b, "- Answers: %s\n", strings.Join(facts, ", "))
	if len(inferred) > 0 {
		sort.Strings(inferred)
		fmt.Fprintf(&b, "- From my own checks of this network: %s\n", strings.Join(inferred, ", "))
	}
	for _, cause := range c.Tried {
		fmt.Fprintf(&b, "- Tried: %s (steps: %s)\n", cause, strings.Join(t.e.model.StepsFor(cause, c.Facts), ", "))
	}
	if c.Page != nil {
		fmt.Fprintf(&b, "- Error page: code %d", c.Page.Code)
		if c.Page.RayID != "" {
			fmt.Fprintf(&b, ", Ray ID %s", c.Page.RayID)
		}
		if c.Page.DataCenter != "" {
			fmt.Fprintf(&b, ", data center %s", c.Page.DataCenter)
		}
		if c.Page.Country != "" {
			fmt.Fprintf(&b, ", country %s", c.Page.Country)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "- Questions asked: %d", len(c.Asked))
	return b.String()
}

// record stores the diagnosis outcome (one row per conversation, updated).
func (t *turn) record(resolved string, handed bool) {
	c := t.conv
	if c == nil || c.Cause == "" {
		return
	}
	o := Outcome{Key: c.ID, Platform: t.m.Platform, Cause: c.Cause, Questions: len(c.Asked),
		Resolved: resolved, HandedOver: handed, At: t.e.now()}
	t.after(func(ctx context.Context) {
		if err := t.e.store.RecordOutcome(ctx, o); err != nil {
			t.e.log.Warn("record outcome", "err", err)
		}
	})
}

// finish records a diagnosis abandoned after a conclusion (cancel, start
// over): its feedback stays unknown.
func (t *turn) finish(resolved string) {
	if t.conv != nil && t.conv.Cause != "" {
		t.record(resolved, false)
	}
}

func sortedCauses(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if m[out[i]] != m[out[j]] {
			return m[out[i]] > m[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}
