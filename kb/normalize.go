package kb

import (
	"gptaccess/kb/accent"

	"math/bits"
	"strings"
	"unicode"
	"unicode/utf8"
)

// cue is a bit set of things a word says about the message as a whole.
type cue uint16

const (
	cueFirstPerson  cue = 1 << iota // I, my, we, ich, je, yo
	cueShow                         // says, shows, me sale: what ChatGPT shows
	cueExperience                   // getting, stuck, can't: the speaker runs into something
	cueExpBase                      // get, see: running into something, with "I"
	cuePresent                      // since, still, right now
	cueGeneric                      // people, someone: others as the subject
	cueError                        // 1020 and other codes (error terms add to this)
	cueQuestion                     // what, why, how, warum, pourquoi, qué
	cueHypothetical                 // if, would, could: asking about a case, not living it
	cueHelpWord                     // help, hilfe, aide, ayuda
	cuePositive                     // works again, all good
	cueModal                        // have to, need to, soll ich
	cueFuture                       // will, going to, wird
	cuePast                         // last week, yesterday, before: what was
)

// lang indexes the languages the bot recognises.
type lang uint8

const (
	langEN lang = iota
	langDE
	langFR
	langES
	numLangs
)

var langNames = [numLangs]string{"en", "de", "fr", "es"}

// wordInfo is what the lexicon knows about one word or phrase.
type wordInfo struct {
	term   int32 // index term id, or -1
	cues   cue
	langs  uint8 // bit per lang
	stop   bool  // no topic of its own
	intent bool  // question phrasing ("what is", "why", "how"): scores, but is not topic
	common bool  // everyday word never corrected as a typo
	// outcome: a verb that says whether something loads ("works",
	// "opens", "funciona"); one feature for them all in answers.
	outcome bool
}

// maxTokenLen bounds the tokens looked at; longer runs of letters are keys,
// hashes or base64 pasted along with an error, never words.
const maxTokenLen = 40

// maxInput bounds how much of a message is read. Matching cost is linear in
// it; a pasted error page fits easily, and a 1 MB paste should not cost 1 MB
// of work per message.
const maxInput = 8 << 10

// span is a token's position in the folded buffer.
// span is a token in the folded text; glued says it touched the token
// before it without a separator ("b1020": "1020" is glued to "b").
type span struct {
	start, end int32
	glued      bool
}

// tokenize folds text (markup and URLs removed, lower case, accents folded)
// into buf and returns the token spans. langScore collects language hints
// from accented letters and Spanish punctuation, which are lost by folding.
//
// It is one loop over the bytes on purpose, longer than most functions
// here: every message, guide text and lexicon form goes through it, and one
// pass that appends to a reused buffer allocates nothing, where a pass per
// concern (markup, URLs, mentions, elisions, accents, letter-digit splits)
// would walk the text and copy it once per concern.
func tokenize(buf []byte, toks []span, text string, langScore *[numLangs]int) ([]byte, []span) {
	if len(text) > maxInput {
		text = text[:maxInput]
	}
	start := -1 // start of the current token in buf, -1 between tokens
	var lastClass int8
	glued, nextGlued := false, false
	endTok := func() {
		if start >= 0 {
			if n := len(buf) - start; n > 0 && n <= maxTokenLen {
				toks = append(toks, span{int32(start), int32(len(buf)), glued})
			} else {
				buf = buf[:start]
			}
			start = -1
		}
		nextGlued = false
	}
	for i := 0; i < len(text); {
		c := text[i]
		// Chat markup: mentions, channel links, emoji, HTML tags.
		if c == '<' {
			if skip, label, ok := markup(text[i:]); ok {
				endTok()
				if label != "" {
					buf, toks = tokenize(buf, toks, label, langScore)
				}
				i += skip
				continue
			}
		}
		// Bare URLs carry hosts and paths, not the user's words.
		if (c == 'h' || c == 'H' || c == 'w' || c == 'W') && (i == 0 || !isWordByte(text[i-1])) {
			if n := urlLen(text[i:]); n > 0 {
				endTok()
				i += n
				continue
			}
		}
		// "@bot", "@here", "@channel": plain-text mentions name people
		// and bots, not the topic.
		if c == '@' && i+1 < len(text) && isWordByte(text[i+1]) {
			endTok()
			i++
			for i < len(text) && (isWordByte(text[i]) || text[i] == '.' || text[i] == '-' || text[i] == '_') {
				i++
			}
			continue
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		i += size
		if r == '\'' || r == '’' || r == '‘' || r == '`' || r == 'ʼ' {
			// Elision: "j'ai", "l'erreur", "qu'est" split after a short
			// prefix; contractions ("can't", "don't") join into one word.
			if start >= 0 && len(buf)-start <= 2 && i < len(text) && isLetterAt(text, i) {
				endTok()
			}
			continue
		}
		r = unicode.ToLower(r)
		var class int8 // 0 separator, 1 letter, 2 digit
		switch {
		case r < utf8.RuneSelf:
			switch {
			case r >= 'a' && r <= 'z':
				class = 1
			case r >= '0' && r <= '9':
				class = 2
			}
		default:
			if f := accent.Strip(r); f != "" {
				hintAccent(r, langScore)
				if start >= 0 && lastClass != 1 {
					endTok()
					nextGlued = true
				}
				if start < 0 {
					start, glued = len(buf), nextGlued
				}
				buf = append(buf, f...)
				lastClass = 1
				continue
			}
			switch {
			case r == '¿' || r == '¡':
				langScore[langES] += 2
			case unicode.IsLetter(r):
				class = 1
			case unicode.IsDigit(r):
				class = 2
			}
		}
		if class == 0 {
			endTok()
			continue
		}
		// Letter-digit boundaries split ("error1020", "gpt4") so codes stand alone.
		if start >= 0 && class != lastClass {
			endTok()
			nextGlued = true
		}
		if start < 0 {
			start, glued = len(buf), nextGlued
		}
		buf = utf8.AppendRune(buf, r)
		lastClass = class
	}
	endTok()
	return buf, toks
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= utf8.RuneSelf
}

func isLetterAt(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsLetter(r)
}

// markup recognises Slack and Discord markup and HTML tags at the start of s
// (which begins with '<'). It returns how many bytes to skip and, for links
// with a label, the label to read instead.
func markup(s string) (skip int, label string, ok bool) {
	end := strings.IndexByte(s, '>')
	if end < 0 || end > 512 {
		return 0, "", false
	}
	inner := s[1:end]
	if inner == "" || strings.ContainsAny(inner, "<\n") {
		return 0, "", false
	}
	switch c := inner[0]; {
	case c == '@' || c == '#' || c == '!' || c == ':':
		// <@U024BE7LH>, <@!123>, <@&role>, <#C123|general>, <!here>, <:emoji:123>
		return end + 1, "", true
	case strings.HasPrefix(inner, "a:") || strings.HasPrefix(inner, "t:"):
		// Discord animated emoji and timestamps.
		return end + 1, "", true
	case hasPrefixFold(inner, "http://") || hasPrefixFold(inner, "https://") ||
		hasPrefixFold(inner, "mailto:") || hasPrefixFold(inner, "tel:"):
		if bar := strings.IndexByte(inner, '|'); bar >= 0 {
			return end + 1, inner[bar+1:], true
		}
		return end + 1, "", true
	case c == '/' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		// An HTML tag from a pasted error page: <title>, </h1>, <span class="...">.
		return end + 1, "", true
	}
	return 0, "", false
}

// urlLen returns the length of a bare URL at the start of s, or 0.
func urlLen(s string) int {
	if !hasPrefixFold(s, "http://") && !hasPrefixFold(s, "https://") && !hasPrefixFold(s, "www.") {
		return 0
	}
	n := 0
	for n < len(s) {
		switch s[n] {
		case ' ', '\t', '\n', '\r', '<', '>', '|', '"', ')', ']':
			return n
		}
		n++
	}
	return n
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// hintAccent counts accented letters that point at a language; folding to
// ASCII throws that evidence away, so it is collected here.
func hintAccent(r rune, s *[numLangs]int) {
	switch r {
	case 'ä', 'ö', 'ü', 'ß':
		s[langDE] += 2
	case 'è', 'ê', 'à', 'â', 'ç', 'î', 'ï', 'ô', 'û', 'ù', 'œ', 'ë':
		s[langFR] += 2
	case 'é':
		s[langFR] += 2
		s[langES]++
	case 'ñ', 'á', 'í', 'ó', 'ú':
		s[langES] += 2
	}
}

// stem strips common English inflections (and, by accident, some plural
// endings of the other languages) into dst. It is deliberately light: the
// concept table handles real synonyms; stemming only has to make "blocks",
// "blocked" and "blocking" one word. Index and messages use the same stemmer,
// so its odd outputs ("caus") never have to be real words.
func stem(dst, w []byte) []byte {
	dst = append(dst[:0], w...)
	n := len(dst)
	if n <= 3 || dst[0] >= '0' && dst[0] <= '9' {
		return dst
	}
	switch {
	case hasSuffix(dst, "ies") && n > 4:
		dst = append(dst[:n-3], 'y')
	case hasSuffix(dst, "ied") && n > 4:
		dst = append(dst[:n-3], 'y')
	case hasSuffix(dst, "sses"):
		dst = dst[:n-2]
	case hasSuffix(dst, "ing") && n > 5:
		dst = undouble(dst[:n-3])
	case hasSuffix(dst, "ed") && n > 4:
		dst = undouble(dst[:n-2])
	case hasSuffix(dst, "es") && n > 4 && (hasSuffix(dst[:n-2], "s") || hasSuffix(dst[:n-2], "x") ||
		hasSuffix(dst[:n-2], "ch") || hasSuffix(dst[:n-2], "sh")):
		dst = dst[:n-2]
	case dst[n-1] == 's' && !hasSuffix(dst, "ss") && !hasSuffix(dst, "us") && !hasSuffix(dst, "is"):
		dst = dst[:n-1]
	}
	if n := len(dst); n > 4 && dst[n-1] == 'e' {
		dst = dst[:n-1]
	}
	return dst
}

func hasSuffix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[len(b)-len(s):]) == s
}

// undouble turns "gett" (from "getting") into "get".
func undouble(b []byte) []byte {
	n := len(b)
	if n >= 3 && b[n-1] == b[n-2] {
		switch b[n-1] {
		case 'l', 's', 'z', 'e', 'o':
		default:
			return b[:n-1]
		}
	}
	return b
}

// isDigits reports whether b is all ASCII digits.
func isDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isASCIILetters(b []byte) bool {
	for _, c := range b {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return len(b) > 0
}

// osa returns the optimal-string-alignment distance (Damerau-Levenshtein
// with adjacent transpositions) between a and b, giving up early once it
// exceeds max. Words are short (maxFuzzyLen), so the rows live on the stack.
func osa(a, b []byte, max int) int {
	la, lb := len(a), len(b)
	if d := la - lb; d > max || -d > max {
		return max + 1
	}
	if la > maxFuzzyLen || lb > maxFuzzyLen {
		return max + 1
	}
	var r0, r1, r2 [maxFuzzyLen + 1]int
	prev2, prev, cur := &r0, &r1, &r2
	for j := 0; j <= lb; j++ {
		prev[j] = j
	}
	for i := 1; i <= la; i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= lb; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > max {
			return max + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[lb]
}

// maxFuzzyLen bounds the words typo correction looks at; longer ones are rare
// in chat.
const maxFuzzyLen = 20

// fuzzyIndex finds known words within a small edit distance of an unknown
// one. Targets are grouped by first letter and length: a typo must keep the
// first letter and changes the length by at most its budget, so a lookup
// checks a few dozen words of the right letter and nearby lengths. (An
// earlier symmetric-delete index made lookups a few map probes, but its
// delete variants took 3.7 MB of heap and most of Parse's time.)
type fuzzyIndex struct {
	words   [][]byte
	letters []uint32 // word id -> letterSet of the word
	info    []wordInfo
	groups  [26][maxFuzzyLen + 1][]int32 // first letter, length -> word ids, ascending
}

// maxEdits is the typo budget for a word of length n: none below 4 letters
// (too many real words are one letter apart), 1 from 4, 2 from 8.
func maxEdits(n int) int {
	switch {
	case n >= 8:
		return 2
	case n >= 4:
		return 1
	}
	return 0
}

// add makes word a typo-correction target. Words added earlier win ties, so
// adding a word twice changes nothing.
func (f *fuzzyIndex) add(word string, info wordInfo) {
	if len(word) < 4 || len(word) > maxFuzzyLen || !isASCIILetters([]byte(word)) {
		return
	}
	g := &f.groups[word[0]-'a'][len(word)]
	for _, id := range *g {
		if string(f.words[id]) == word {
			return
		}
	}
	*g = append(*g, int32(len(f.words)))
	f.words = append(f.words, []byte(word))
	f.letters = append(f.letters, letterSet([]byte(word)))
	f.info = append(f.info, info)
}

// letterSet returns the set of letters a-z in w as bits.
func letterSet(w []byte) uint32 {
	var s uint32
	for _, c := range w {
		if c >= 'a' && c <= 'z' {
			s |= 1 << (c - 'a')
		}
	}
	return s
}

// lookup returns the best known word for the unknown word w, if any: the
// closest, and of equally close ones the first added.
func (f *fuzzyIndex) lookup(w []byte) (wordInfo, bool) {
	n := len(w)
	d := maxEdits(n)
	// Typos rarely hit the first letter, and requiring it to match keeps
	// real words ("late", "rate") from being "corrected".
	if d == 0 || n > maxFuzzyLen || w[0] < 'a' || w[0] > 'z' {
		return wordInfo{}, false
	}
	byLen := &f.groups[w[0]-'a']
	set := letterSet(w)
	best, bestDist := int32(-1), d+1
	for l := max(4, n-d); l <= min(maxFuzzyLen, n+d); l++ {
		for _, id := range byLen[l] {
			t := f.words[id]
			// Only a closer word, or an equally close earlier one, can
			// win, so the distance may give up sooner.
			limit := bestDist
			if id > best {
				limit--
			}
			// Each letter only one of the words has costs an edit of its
			// own, which rules out most candidates without osa.
			other := f.letters[id]
			if bits.OnesCount32(set&^other) > limit || bits.OnesCount32(other&^set) > limit {
				continue
			}
			dist := osa(w, t, limit)
			if dist > limit {
				continue
			}
			// A four-letter word one substitution away from a term is far
			// more often another real word ("held"/"help") than a typo;
			// accept only a dropped letter or swapped neighbours there.
			if n == 4 && len(t) == 4 && !isTransposition(w, t) {
				continue
			}
			best, bestDist = id, dist
		}
	}
	if best < 0 {
		return wordInfo{}, false
	}
	return f.info[best], true
}

// isTransposition reports whether a and b (same length) differ only by two
// swapped neighbouring letters.
func isTransposition(a, b []byte) bool {
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if i+1 >= len(a) || a[i] != b[i+1] || a[i+1] != b[i] {
		return false
	}
	return string(a[i+2:]) == string(b[i+2:])
}
