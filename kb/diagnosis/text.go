package diagnosis

import (
	"gptaccess/kb/accent"

	"strings"
	"unicode"
	"unicode/utf8"
)

// Text handling shared by Extract, ParseAnswer and the loader: the model's
// phrases go through exactly the same folding and tokenizing as user text,
// so an operator writes "don't" or "peut-être" and it matches what users
// type.

// maxText bounds the text Extract and ParseAnswer look at. Chat messages are
// far shorter; the bound keeps a pasted log file from costing much.
const maxText = 16 << 10

// token is one word of folded text.
type token struct {
	text       string
	start, end int  // byte offsets in the folded text
	line       int  // 0-based line
	sent       int  // sentence number; . ! ? and line breaks end sentences
	clause     int  // clause number; punctuation such as , ; : ( ) ends clauses
	question   bool // the token's sentence ends with '?'
}

// tokenized is folded text and its words.
type tokenized struct {
	folded string
	toks   []token
}

// foldRune lower-cases r, strips the accents of Latin letters (see
// kb/accent) and makes typographic punctuation plain, so that
// "Inkognito-Modus", "incógnito" and "NAVIGATION PRIVÉE" match plain-ASCII
// phrases.
func foldRune(r rune) string {
	r = unicode.ToLower(r)
	if r < 0x80 {
		return ""
	}
	switch r {
	case '’', '‘', 'ʼ', '´', '`':
		return "'"
	case '“', '”', '„', '«', '»':
		return "\""
	case '？':
		return "?"
	case '！':
		return "!"
	case '，':
		return ","
	case '。':
		return "."
	}
	return accent.Strip(r)
}

// fold lower-cases s and folds accents (see foldRune). Invalid UTF-8 bytes
// become spaces so that offsets stay meaningful.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r == utf8.RuneError {
			b.WriteByte(' ')
			continue
		}
		if f := foldRune(r); f != "" {
			b.WriteString(f)
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// tokenize folds s and splits it into words. Apostrophes inside words are
// dropped ("don't" -> "dont"); '.', '_' and '@' between word characters join
// ("chat.openai.com", "openai_api_key"); a hyphen separates, as in the
// matcher's tokenizer, so "Firmen-Proxy" holds the word "proxy" and
// "e-mail" is the phrase "e mail" on both sides; everything else separates words, and
// sentence and clause punctuation is recorded on the tokens.
func tokenize(s string) tokenized {
	f := fold(s)
	t := tokenized{folded: f}
	var (
		cur                 strings.Builder
		curStart            = -1
		line, sent, clause  int
		sentStart           int // index in t.toks of the current sentence's first token
		pendSent, pendClaus bool
	)
	flush := func(end int) {
		if curStart < 0 {
			return
		}
		if pendSent {
			sent++
			sentStart = len(t.toks)
		}
		if pendSent || pendClaus {
			clause++
		}
		pendSent, pendClaus = false, false
		t.toks = append(t.toks, token{text: cur.String(), start: curStart, end: end, line: line, sent: sent, clause: clause})
		cur.Reset()
		curStart = -1
	}
	endSentence := func(question bool) {
		if question {
			for i := sentStart; i < len(t.toks); i++ {
				t.toks[i].question = true
			}
		}
		pendSent = true
	}
	for i, r := range f {
		next, _ := utf8.DecodeRuneInString(f[i+utf8.RuneLen(r):])
		if isWordRune(r) {
			if curStart < 0 {
				curStart = i
			}
			cur.WriteRune(r)
			continue
		}
		if curStart >= 0 && isWordRune(next) {
			switch r {
			case '\'':
				continue // dropped inside a word
			case '.', '_', '@':
				cur.WriteRune(r)
				continue
			case '-':
				flush(i) // two words of one clause ("peut-être")
				continue
			}
		}
		flush(i)
		switch r {
		case '\n':
			line++
			endSentence(false)
		case '.', '!', '…':
			endSentence(false)
		case '?':
			endSentence(true)
		case ',', ';', ':', '(', ')', '[', ']', '{', '}', '"', '—', '–', '-', '|', '/':
			pendClaus = true
		}
	}
	flush(len(f))
	// Chat writes "and" as "n" between words ("turned it off n it works");
	// alone or first, "n" is "no".
	for i := 1; i+1 < len(t.toks); i++ {
		if t.toks[i].text == "n" && t.toks[i-1].clause == t.toks[i].clause {
			t.toks[i].text = "and"
		}
	}
	return t
}

// words returns the texts of s's tokens: how the model stores phrases.
func words(s string) []string {
	t := tokenize(s)
	out := make([]string, len(t.toks))
	for i, tk := range t.toks {
		out[i] = tk.text
	}
	return out
}

// phraseSet finds phrases (word sequences) in token streams.
type phraseSet struct {
	byFirst map[string][]int // first word -> indexes into items
	items   []phrase
}

type phrase struct {
	words []string
	fact  int   // owning fact, or -1
	val   uint8 // vYes, vNo or vUnsure, or 0
}

func (ps *phraseSet) add(p phrase) {
	if len(p.words) == 0 {
		return
	}
	if ps.byFirst == nil {
		ps.byFirst = make(map[string][]int)
	}
	ps.byFirst[p.words[0]] = append(ps.byFirst[p.words[0]], len(ps.items))
	ps.items = append(ps.items, p)
}

// each calls fn for every phrase that matches toks at i. With sameClause,
// a phrase must not span a clause boundary.
func (ps *phraseSet) each(toks []token, i int, sameClause bool, fn func(p *phrase)) {
	for _, pi := range ps.byFirst[toks[i].text] {
		p := &ps.items[pi]
		if i+len(p.words) > len(toks) {
			continue
		}
		ok := true
		for k := 1; k < len(p.words); k++ {
			tk := toks[i+k]
			if tk.text != p.words[k] || (sameClause && tk.clause != toks[i].clause) {
				ok = false
				break
			}
		}
		if ok {
			fn(p)
		}
	}
}

// longest returns the longest phrase matching toks at i, or nil.
func (ps *phraseSet) longest(toks []token, i int, sameClause bool) *phrase {
	var best *phrase
	ps.each(toks, i, sameClause, func(p *phrase) {
		if best == nil || len(p.words) > len(best.words) {
			best = p
		}
	})
	return best
}

// set is a set of single words.
type set map[string]bool

// dropQuoted blanks what s quotes rather than says: fenced code blocks
// (also inline ones) and "> " quote lines, which is how chat users paste an
// error page. Lines are kept (blank) so that line numbers stay stable.
func dropQuoted(s string) string {
	if !strings.Contains(s, "```") && !strings.Contains(s, ">") {
		return s
	}
	lines := strings.Split(s, "\n")
	inFence := false
	for i, l := range lines {
		trim := strings.TrimSpace(l)
		if !inFence && (strings.HasPrefix(trim, ">") || strings.HasPrefix(trim, "&gt;")) {
			lines[i] = ""
			continue
		}
		if !strings.Contains(l, "```") {
			if inFence {
				lines[i] = ""
			}
			continue
		}
		var keep strings.Builder
		for j, part := range strings.Split(l, "```") {
			if j > 0 {
				inFence = !inFence
				keep.WriteByte(' ')
			}
			if !inFence {
				keep.WriteString(part)
			}
		}
		lines[i] = keep.String()
	}
	return strings.Join(lines, "\n")
}
