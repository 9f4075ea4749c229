package kb

import (
	"bytes"
	"math"
	"strings"
)

// DefaultThreshold is the classifier probability below which Match answers
// NoneID even for an on-topic message. Off-topic chatter is a class of its
// own, so the threshold only guards against an entry nobody could be sure
// of; 0.15 to 0.35 were measured on held-out training sources (bot's
// TestExperimentLOSO) and 0.15 answered 1 to 4 points more messages right.
// Raising it trades wrong answers for more "I didn't understand".
const DefaultThreshold = 0.15

// Match is the knowledge base's reading of one message.
type Match struct {
	// ID is the entry that answers the message, or NoneID when nothing
	// reaches the threshold.
	ID string
	// Confidence is how sure the match is, from 0 to 1. It is a score
	// calibrated against KB.Threshold, not a probability.
	Confidence float64
	// Report says the message reports the user hitting an error now ("chatgpt
	// says access denied 1020", "I'm on NordVPN and get 1020", a pasted error
	// page) rather than asking about it ("what is 1020?"). It is set for any
	// error the guide covers, so a pasted 1015 page is a report whose ID is
	// other-code; callers decide what a report of which entry leads to.
	Report bool
	// Question says the message asks something: a question mark, or a
	// leading question word ("how do I ...", "warum ...").
	Question bool
	// Meaning says the message asks what something means ("what does
	// this mean", "qué significa", "explain"), report or not.
	Meaning bool
	// Also is the runner-up entry when the classifier gives it at least
	// askShare: a report that also asks something specific reads as
	// "fix" first and that question second.
	Also string
	// Lang is the best guess of the message language: "en", "de", "fr" or
	// "es" ("en" when there is no evidence).
	Lang string
}

// askShare is the share of the classifier's belief that makes the
// runner-up entry a second reading (Match.Also).
const askShare = 0.2

// Scoring constants of the rules, tuned on training/messages/corpus.tsv.
const (
	// helpBonus moves "help, ..." followed by a problem to the fix entry.
	helpBonus = 1.0
	// reportMinScore is the score a report's best entry needs to beat fix:
	// below it, the match rests on words every entry shares.
	reportMinScore = 1.5
	// noAnchorFactor scales the confidence of messages that have unknown
	// words and no word that is about ChatGPT access by itself.
	noAnchorFactor = 0.35
	// bodyOnlyWeight is how much a word counts as understood when only
	// entry bodies use it.
	bodyOnlyWeight = 0.5
	// positiveFactor scales the confidence of "works again" messages.
	positiveFactor = 0.3
	// intentBonus is what an intent cue adds to its entry's score.
	intentBonus = 0.8
	// intentReach is how close to the best score an entry must be for its
	// intent cue to count.
	intentReach = 0.6
	// genericConfidence is the confidence of a message made only of the
	// error's own words ("1020?").
	genericConfidence = 0.6
	// scoreScale is the BM25 score at which strength reaches 63%.
	scoreScale = 2.5
	// pageConfidence is reported for a recognised pasted error page: its
	// layout is unambiguous even when its words would score oddly.
	pageConfidence = 0.95
)

// Match finds the entry that best answers text. It never fails: text it does
// not understand yields NoneID. Only the first 8 KiB of text are read.
func (k *KB) Match(text string) Match {
	ix := k.idx
	sc := ix.pool.Get().(*scratch)
	defer ix.pool.Put(sc)
	sc.feats = ix.read(sc, text, sc.feats[:0])
	m := k.matchRules(sc)
	if k.learn == nil {
		return m
	}
	rules := m
	best, p, none, rep, second, p2 := k.learn.classify(sc)
	m.ID, m.Confidence, m.Report = NoneID, round2(p), false
	// The best entry answers unless off-topic is the likelier reading, or
	// the entry is too uncertain. Off-topic is a class of its own: an
	// on-topic message whose likelihood is spread over neighbouring
	// entries ("the whole floor has access denied since lunch") is still
	// on topic.
	//
	// Off-topic needs both readings to agree: the rules know the error's
	// own words and codes, so a message they place is not chatter.
	onTopic := none < 0.5 || rules.ID != NoneID
	if onTopic && p >= k.Threshold && !(sc.sig.positive && !sc.sig.question) {
		// "my vpn works again, thanks" closes a topic: answering it is
		// noise, whatever it is about.
		m.ID, m.Report = ix.ids[best], rep >= 0.5
		if p2 >= askShare {
			m.Also = ix.ids[second]
		}
	}
	if d := ix.docs.otherCode; d >= 0 && m.ID != NoneID && sc.sig.otherCode && !sc.sig.named1020 {
		// "HTTP 429 from api.openai.com in our worker, how to handle?"
		// names another error and not 1020: that error's entry answers,
		// whatever else (the API, a VPN) the message is about.
		m.ID = ix.ids[d]
	}
	return m
}

// matchRules is the hand-written reading of a message: BM25 over the guide
// with the concept lexicon, cue words for reports, and the pasted-page
// detector. Its signals (report, page, ...) are features of the classifier,
// which decides; its own choice of entry is kept for the operator's
// explain output and the tests that pin the rules.
//
// It works on a message already read into sc.
func (k *KB) matchRules(sc *scratch) Match {
	ix := k.idx
	m := Match{ID: NoneID, Lang: langNames[sc.lang]}
	m.Question = sc.sig.question
	m.Meaning = sc.sig.explain
	report := sc.sig.report || sc.page != 0
	scores := ix.ruleScores(sc, report)
	best, second := rank(scores)
	if sc.page != 0 {
		return k.pageMatch(m, sc, best)
	}
	best, conf := ix.ruleConfidence(sc, scores, best, second, report)
	m.Confidence = conf
	if best >= 0 && conf >= k.Threshold {
		m.ID = ix.ids[best]
		m.Report = report
	}
	return m
}

// ruleScores scores every entry for the message in sc: BM25 over its
// terms, and the nudges of help and intent words.
func (ix *index) ruleScores(sc *scratch, report bool) []float64 {
	sig := sc.sig
	scores := sc.scores
	clear(scores)
	sc.gen++
	if sc.gen == 0 { // wrapped: stale stamps could look current
		clear(sc.seen)
		sc.gen = 1
	}
	for _, q := range sc.q {
		t := q.info.term
		if t < 0 || q.info.stop && !q.info.intent {
			continue
		}
		if t == ix.terms.help && sig.otherTopic {
			// "help, chatgpt says 1020" asks for help with the problem,
			// not for the bot's help text.
			continue
		}
		if t == ix.terms.whatis && sig.specific {
			// "what's the fix", "what is a vpn": the question frame of a
			// message about something else, not "what is 1020".
			continue
		}
		if sc.seen[t] == sc.gen {
			continue
		}
		sc.seen[t] = sc.gen
		w := 1.0
		if q.fuzzy {
			w = fuzzyWeight
		}
		for _, p := range ix.post[t] {
			scores[p.doc] += w * float64(p.w)
		}
	}

	if fix := ix.docs.fix; fix >= 0 && sig.help && sig.otherTopic && !report {
		scores[fix] += helpBonus
	}
	// Intent cues: a word that names what is asked ("why", "prevent", "is
	// it safe") nudges its entry past entries that merely share topic
	// words. It breaks near-ties only: "is it the vpn that causes 1020?"
	// is about the VPN, whose entry scores far ahead of causes.
	if sig.intents != 0 {
		top := 0.0
		for _, s := range scores {
			top = max(top, s)
		}
		for _, r := range ix.intents {
			if sig.intents&(1<<r.bit) != 0 && scores[r.doc] >= intentReach*top {
				scores[r.doc] += intentBonus
			}
		}
	}

	return scores
}

// pageMatch reads a message holding a pasted error page: a report, about
// the VPN when it says the writer is on one, else the fix (1020) or
// other-code (any other error).
func (k *KB) pageMatch(m Match, sc *scratch, best int) Match {
	ix := k.idx
	page, sig, vpnAdvice := sc.page, sc.sig, sc.vpnAdvice
	m.Confidence = pageConfidence
	if pageConfidence < k.Threshold {
		return m
	}
	m.Report = true
	switch {
	case page == 1020 && sig.vpn && !vpnAdvice && ix.docs.fixVPN >= 0:
		m.ID = ix.ids[ix.docs.fixVPN]
	case page == 1020 && ix.docs.fix >= 0:
		m.ID = ix.ids[ix.docs.fix]
	case page != 1020 && ix.docs.otherCode >= 0:
		m.ID = ix.ids[ix.docs.otherCode]
	default:
		m.ID = ix.ids[best]
	}
	return m
}

// ruleConfidence turns the scores into the rules' choice and its
// confidence (best is -1 when nothing scores).
func (ix *index) ruleConfidence(sc *scratch, scores []float64, best, second int, report bool) (int, float64) {
	sig := sc.sig
	if best < 0 || sig.content == 0 || scores[best] <= 0 {
		return -1, 0
	}
	s1 := scores[best]
	s2 := 0.0
	if second >= 0 {
		s2 = max(scores[second], 0)
	}
	strength := 1 - math.Exp(-s1/scoreScale)
	coverage := math.Sqrt(sig.known / sig.content)
	margin := (s1 - s2) / s1
	conf := strength * coverage * (0.75 + 0.25*margin)
	if !sig.anchor {
		// Everyday words next to unknown ones ("the printer is down",
		// "room 1020 is free"): probably not about ChatGPT at all.
		conf *= noAnchorFactor
	}
	if sig.positive {
		// "my vpn works again, nice" closes a topic; answering it is noise.
		conf *= positiveFactor
	}

	// Messages made only of the error's own words ("1020?", "access
	// denied 1020") score low everywhere, since every entry mentions them;
	// they ask what the error is, or report it.
	if sig.onlyGeneric && ix.docs.whatIs >= 0 {
		best = ix.docs.whatIs
		conf = max(conf, genericConfidence)
	}
	if report {
		// A report wants steps unless it asks something specific: why
		// (causes), what it means (what-is), or names a topic that scores
		// clearly (a VPN, the API, a private window).
		switch {
		case sig.otherError && ix.docs.otherCode >= 0:
			// Naming another error (1015, a challenge page) says which
			// error it is, whatever else the message mentions.
			best = ix.docs.otherCode
		case ix.docs.fix >= 0 && !sig.why && !sig.meaning &&
			(best == ix.docs.whatIs || best == ix.docs.causes || scores[best] < reportMinScore):
			best = ix.docs.fix
		}
		// A report names an error and says the user is hitting it: that is
		// on topic even when the rest of the message is chatter.
		conf = max(conf, 0.5+0.45*strength)
	}
	return best, min(max(conf, 0), 1)
}

// read tokenizes and resolves text into sc, reads its signals and pasted
// page into sc, and appends its classifier features to dst.
func (ix *index) read(sc *scratch, text string, dst []uint64) []uint64 {
	var ls [numLangs]int
	sc.buf, sc.toks = tokenize(sc.buf[:0], sc.toks[:0], text, &ls)
	ix.lex.resolve(sc, true)
	sc.lang = guessLang(sc, &ls)
	sc.sig = ix.signals(sc, text)
	sc.page, sc.vpnAdvice = ix.pageCode(sc, text)
	return ix.features(sc, dst, sc.lang, sc.sig, sc.page, text)
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// rank returns the best and second-best doc, or -1.
func rank(scores []float64) (best, second int) {
	best, second = -1, -1
	for d, s := range scores {
		switch {
		case best < 0 || s > scores[best]:
			best, second = d, best
		case second < 0 || s > scores[second]:
			second = d
		}
	}
	return best, second
}

// signals are what Match reads from a message besides term scores.
type signals struct {
	report      bool
	help        bool    // a help word ("help", "hilfe")
	otherTopic  bool    // a known topic word other than the help words
	anchor      bool    // an anchor term, or nothing unknown
	onlyGeneric bool    // only the error's own words (1020, access denied, error, chatgpt)
	specific    bool    // a known topic word besides the error's own words
	why         bool    // asks for a cause
	otherError  bool    // names an error other than 1020 (1015, 429, a challenge)
	intents     uint32  // bit per ix.intents rule that fired
	positive    bool    // says things work again ("all good now")
	meaning     bool    // asks what something means ("what is" counts)
	explain     bool    // names meaning itself ("mean", "explain", "bedeutet")
	question    bool    // a question mark or a leading question word
	vpn         bool    // a VPN or proxy is named
	ours        bool    // names ChatGPT, OpenAI or their API
	named1020   bool    // names 1020 itself
	otherCode   bool    // names another error's number (1015, 429)
	content     float64 // topic words (not stop words, cues or question phrasing)
	known       float64 // of those, the ones the knowledge base knows
}

// signals reads what the message's words say beyond its topic: which
// entries its intent words point at, how much of it the knowledge base
// knows, whether it is anchored to the error, and (speech) whether it is a
// question or a report.
func (ix *index) signals(sc *scratch, text string) signals {
	var s signals
	var cues cue
	var w topicWords
	st := ix.terms
	for _, q := range sc.q {
		cues |= q.info.cues
		t := q.info.term
		if t >= 0 {
			if ix.errTerm[t] {
				cues |= cueError
			}
			ix.named(&s, t)
		}
		if q.info.cues&cueHelpWord != 0 {
			s.help = true
		}
		if q.info.intent && t >= 0 && t != st.whatis && t != st.meaning {
			w.otherIntent = true // "how", "why", "what can I do"
		}
		ix.topicWord(&s, &w, q)
	}
	// "Fehler 1020", "error code 1015": a code next to the word error is
	// the error, not a room number.
	s.anchor = w.anchor || !w.unknown || w.code && w.errWord
	s.onlyGeneric = !w.specific && w.codeOrDenied && !w.unknown && !w.otherIntent
	s.specific = w.specific
	ix.speech(sc, text, &s, cues, w.code)
	return s
}

// topicWords is what signals tallies about a message's topic words.
type topicWords struct {
	unknown      bool // a content word that does not vouch for the topic: unknown, or only in entries' bodies
	anchor       bool // an anchor term
	code         bool // an error's number
	errWord      bool // a word naming an error, not its number
	codeOrDenied bool // one of the error's own words that is its number or "access denied"
	specific     bool // a topic word besides the error's own words
	otherIntent  bool // question phrasing besides "what is" and "mean"
}

// named records in s what the term t names: another error, an intent, a
// cause, a meaning, a VPN, ChatGPT, 1020 itself or help.
func (ix *index) named(s *signals, t int32) {
	st := ix.terms
	if ix.otherErr[t] {
		s.otherError = true
		s.otherCode = s.otherCode || ix.numTerm[t]
	}
	if b := ix.intentBit[t]; b >= 0 {
		s.intents |= 1 << b
	}
	switch t {
	case st.cause:
		s.why = true
	case st.meaning:
		s.meaning, s.explain = true, true
	case st.whatis:
		s.meaning = true
	case st.vpn:
		s.vpn = true
	case st.chatgpt, st.api, st.apikey:
		s.ours = true
	case st.code1020:
		s.named1020 = true
	case st.help:
		s.help = true
	}
}

// topicWord counts q in s.content and s.known when it is a topic word, and
// records in w what kind of topic word it is.
func (ix *index) topicWord(s *signals, w *topicWords, q qtok) {
	st := ix.terms
	t := q.info.term
	switch {
	case q.info.intent, q.info.stop && t < 0:
		// Question phrasing and stop words: not topic.
	case t < 0 && q.info.cues != 0:
		// "stuck", "unable": about the user, not the topic.
	case q.number && !q.known:
		// Counts and ids ("3 hours", "order 5521") say nothing.
	case t >= 0 && ix.strong[t]:
		s.content++
		if q.fuzzy {
			s.known += fuzzyWeight
		} else {
			s.known++
		}
		if ix.anchor[t] {
			w.anchor = true
		}
		w.code = w.code || ix.numTerm[t]
		w.errWord = w.errWord || ix.errTerm[t] && !ix.numTerm[t]
		if t != st.help {
			s.otherTopic = true
		}
		if ix.genericTerm[t] {
			if ix.numTerm[t] || t == st.denied {
				w.codeOrDenied = true
			}
		} else {
			w.specific = true
		}
	case t >= 0 && len(ix.post[t]) == 0:
		// Known concept the guide never uses: neutral.
	case t >= 0:
		// A word only the bodies use: bodies are prose, full of
		// everyday words ("report", "send"), so it counts half, and
		// does not vouch for the message being on topic.
		s.content++
		s.known += bodyOnlyWeight
		w.unknown = true
	default:
		s.content++
		w.unknown = true
	}
}

// speech reads how the message is said: a question or a statement, and
// whether its writer reports hitting the error now (cues are the message's
// cue words; code says it names an error code).
func (ix *index) speech(sc *scratch, text string, s *signals, cues cue, code bool) {
	st := ix.terms
	// Question words inside a statement ("my extension is causing it")
	// do not make a question; a leading one or a question mark does.
	var leading bool
	for _, q := range sc.q {
		if q.info.term >= 0 || q.info.cues&cueQuestion != 0 || !q.info.stop {
			leading = q.info.cues&cueQuestion != 0 || q.info.intent
			break
		}
	}
	question := leading || strings.IndexByte(text, '?') >= 0 || strings.Contains(text, "¿")
	s.question = question
	first := cues&cueFirstPerson != 0
	err := cues&cueError != 0
	notOthers := first || cues&cueGeneric == 0
	// "error 1020 since lunch": an error happening now is experienced too.
	exp := cues&(cueShow|cueExperience|cuePresent) != 0 && notOthers || cues&cueExpBase != 0 && first
	// "I started getting 1020 after ...": a code the speaker runs into is
	// the error, whatever else the sentence holds.
	s.anchor = s.anchor || code && first && exp
	// "ChatGPT shows 1020. It worked last week": an error the writer sees
	// now makes "worked" history, not "it works again"; so does the error
	// named next to a time gone by ("chatgpt 1020 on chrome, worked fine
	// last week").
	s.positive = cues&cuePositive != 0 && !question && !(err && exp && s.anchor) && !(err && cues&cuePast != 0)
	// "I'm blocked", "am I banned for good?", "it blocks me": the speaker in
	// a blocked state is a report, unless it is a future or a possibility.
	// The speaker has to be near the word ("my account ... access denied
	// error" is not about being blocked).
	state := blockedNearSpeaker(sc, st) && cues&(cueFuture|cueHypothetical|cueModal) == 0
	s.report = (err && exp || state) && s.anchor && !s.positive
	switch {
	case !s.report:
	case cues&(cueHypothetical|cueModal) != 0 && question && cues&cuePresent == 0:
		// "can I get 1020 if I use a VPN?" asks about a case.
		s.report = false
	case !first && st.prevent >= 0 && hasTerm(sc, st.prevent):
		// "tips to avoid getting blocked" is about the future.
		s.report = false
	case leading && !first && cues&cuePresent == 0:
		// "what makes cloudflare throw 1020?" asks about the error in
		// general; nobody in it is hitting it.
		s.report = false
	}
}

// speakerWindow is how many words may sit between "I" and "blocked" for
// them to belong together ("we're all blocked", "I've been blocked").
const speakerWindow = 3

func blockedNearSpeaker(sc *scratch, st specialTerms) bool {
	lastSpeaker, lastBlocked := -100, -100
	for i, q := range sc.q {
		if q.info.cues&cueFirstPerson != 0 {
			lastSpeaker = i
		}
		if t := q.info.term; t >= 0 && (t == st.denied || t == st.blocked) {
			lastBlocked = i
		}
		if lastSpeaker >= 0 && lastBlocked >= 0 && abs(lastSpeaker-lastBlocked) <= speakerWindow {
			return true
		}
	}
	return false
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func hasTerm(sc *scratch, t int32) bool {
	for _, q := range sc.q {
		if q.info.term == t {
			return true
		}
	}
	return false
}

// guessLang picks the language with the most hint words, English on a tie.
func guessLang(sc *scratch, ls *[numLangs]int) lang {
	for _, q := range sc.q {
		for l := range numLangs {
			if q.info.langs&(1<<l) != 0 {
				ls[l] += 2
			}
		}
	}
	best := langEN
	for l := langDE; l < numLangs; l++ {
		if ls[l] > ls[best] {
			best = l
		}
	}
	return best
}

// Pasted error pages. Markers are written in folded token form (lower case,
// no punctuation, one space between words) because they are looked up in the
// message's tokens joined the same way.
var (
	strongPageMarkers = []string{
		"ray id", "you do not have access to", "the site owner may have set restrictions",
		"you have been blocked", "you are unable to access", "this website is using a security service",
		"performance security by cloudflare", "used cloudflare to restrict access", "you are being rate limited",
		"has banned your ip address", "banned you temporarily", "checking if the site connection is secure",
		"needs to review the security of your connection", "verify you are human by completing",
		"enable javascript and cookies to continue", "why have i been blocked", "what can i do to resolve this",
		"error details", "cloudflare ray id", "the action you just performed triggered",
	}
	weakPageMarkers = []string{
		"access denied", "what happened", "data center", "timestamp", "just a moment", "your ip",
		"error code", "was this page helpful", "click to reveal", "attention required", "please enable cookies",
		"if you are using a vpn", "sorry", "cloudflare", "verify you are human",
	}
)

// pageMarkers are the page phrases as byte slices, converted once at Parse
// time so that checking a message does not allocate.
type pageMarkers struct {
	strong, weak                                          [][]byte
	errorCode, vpnAdvice, rateLimited, banned, challenged [][]byte
}

func newPageMarkers() pageMarkers {
	b := func(ss ...string) [][]byte {
		out := make([][]byte, len(ss))
		for i, s := range ss {
			out[i] = []byte(s)
		}
		return out
	}
	return pageMarkers{
		strong:      b(strongPageMarkers...),
		weak:        b(weakPageMarkers...),
		errorCode:   b("error code"),
		vpnAdvice:   b("if you are using a vpn"),
		rateLimited: b("rate limited"),
		banned:      b("banned your ip", "banned you"),
		challenged:  b("just a moment", "verify you are human", "checking if the site connection"),
	}
}

func containsAny(flat []byte, markers [][]byte) bool {
	for _, m := range markers {
		if bytes.Contains(flat, m) {
			return true
		}
	}
	return false
}

func countContained(flat []byte, markers [][]byte) int {
	n := 0
	for _, m := range markers {
		if bytes.Contains(flat, m) {
			n++
		}
	}
	return n
}

// pageCode recognises a pasted Cloudflare error page (or the bare "error
// code: 1020" body) and returns its error code: 1020, another code, 1 for a
// challenge page, or 0 when the message is not a page. vpnAdvice says the
// page itself talks about VPNs (OpenAI's custom block page does), so a VPN
// mention there is not the user's.
func (ix *index) pageCode(sc *scratch, text string) (code int, vpnAdvice bool) {
	sc.flat = sc.flat[:0]
	for i, t := range sc.toks {
		if i > 0 {
			sc.flat = append(sc.flat, ' ')
		}
		sc.flat = append(sc.flat, sc.buf[t.start:t.end]...)
	}
	flat := sc.flat
	bare := true // only "access denied error code N" words
	for i, t := range sc.toks {
		w := sc.buf[t.start:t.end]
		switch string(w) {
		case "error", "code", "access", "denied":
		default:
			if !isDigits(w) {
				bare = false
			}
		}
		if code == 0 && string(w) == "error" {
			j := i + 1
			if j < len(sc.toks) && string(sc.buf[sc.toks[j].start:sc.toks[j].end]) == "code" {
				j++
			}
			if j < len(sc.toks) {
				n := sc.buf[sc.toks[j].start:sc.toks[j].end]
				if isDigits(n) && len(n) >= 3 && len(n) <= 4 {
					code = atoi(n)
				}
			}
		}
	}
	pm := &ix.markers
	strong, weak := countContained(flat, pm.strong), countContained(flat, pm.weak)
	isPage := strong >= 2 || strong >= 1 && weak >= 1
	if !isPage && bare && code != 0 && containsAny(flat, pm.errorCode) &&
		strings.IndexByte(text, '?') < 0 {
		// The plain-text body Cloudflare sends to non-browsers, pasted as is.
		isPage = true
	}
	if !isPage {
		return 0, false
	}
	vpnAdvice = containsAny(flat, pm.vpnAdvice)
	switch {
	case code != 0:
	case containsAny(flat, pm.rateLimited):
		code = 1015
	case containsAny(flat, pm.banned):
		code = 1006
	case containsAny(flat, pm.challenged):
		code = 1 // a challenge page: no error code, but not 1020 either
	default:
		code = 1020
	}
	return code, vpnAdvice
}

func atoi(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}
