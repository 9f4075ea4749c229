package kb

import (
	"strings"
)

// Whole-message phrases: commands, greetings and the error's own name. They
// go through the same tokenizer as everything else the bot reads, so
// "<@U1> Hilfe!", "HELP" and "help." are one command and "accès refusé"
// matches "acces refuse".

// phrases is the compiled form of the lexicon's phrase tables: folded
// phrase (tokens joined by one space) -> value.
type phrases struct {
	commands map[string]string
	prefixes map[string]string // first word -> command
	small    map[string]string
	// addressees may end a greeting or a thank-you ("thanks bot").
	addressees map[string]bool
	mentions   []string // folded, matched on word boundaries
}

func compilePhrases(ld *Lexicon) phrases {
	var sc scratch
	fold := func(s string) string { return sc.folded(s) }
	ps := phrases{commands: map[string]string{}, prefixes: map[string]string{}, small: map[string]string{}, addressees: map[string]bool{}}
	for cmd, forms := range ld.Commands {
		for _, f := range forms {
			ps.commands[fold(f)] = cmd
		}
	}
	for cmd, forms := range ld.CommandPrefixes {
		for _, f := range forms {
			ps.prefixes[fold(f)] = cmd
		}
	}
	for kind, forms := range ld.SmallTalk {
		for _, f := range forms {
			ps.small[fold(f)] = kind
		}
	}
	for _, f := range ld.Addressees {
		ps.addressees[fold(f)] = true
	}
	for _, f := range ld.ErrorMentions {
		if w := fold(f); w != "" {
			ps.mentions = append(ps.mentions, w)
		}
	}
	return ps
}

// folded returns text's tokens joined by single spaces.
func (sc *scratch) folded(text string) string {
	var ls [numLangs]int
	sc.buf, sc.toks = tokenize(sc.buf[:0], sc.toks[:0], text, &ls)
	var b strings.Builder
	for i, t := range sc.toks {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.Write(sc.buf[t.start:t.end])
	}
	return b.String()
}

// fold is folded with a pooled scratch.
func (k *KB) fold(text string) string {
	sc := k.idx.pool.Get().(*scratch)
	defer k.idx.pool.Put(sc)
	return sc.folded(text)
}

// maxPhraseInput bounds what is folded to recognise a whole-message phrase:
// a command or a greeting is short, and a long message is neither.
const maxPhraseInput = 200

// Command recognises a built-in command: the whole message ("help", "start
// over", "Hilfe!"), or a command word followed by its argument ("ask what
// is 1020"), whose rest is the argument with spaces tidied. cmd is "" for
// anything else.
func (k *KB) Command(text string) (cmd, rest string) {
	t := strings.TrimSpace(text)
	if t == "?" {
		return "help", ""
	}
	// "/diagnose", "!!ask ... ?": chat habits around a command.
	t = strings.Trim(t, "!/.?")
	if len(t) > maxPhraseInput*20 {
		return "", ""
	}
	if len(t) <= maxPhraseInput {
		if c, ok := k.idx.phrases.commands[k.fold(t)]; ok {
			return c, ""
		}
	}
	f := strings.Fields(t)
	if len(f) < 2 {
		return "", ""
	}
	// The first word may be a mention of the bot ("<@U1> ask ...").
	if strings.HasPrefix(f[0], "<") && len(f) > 2 {
		f = f[1:]
	}
	if c, ok := k.idx.phrases.prefixes[k.fold(f[0])]; ok {
		return c, strings.Join(f[1:], " ")
	}
	return "", ""
}

// SmallTalk tells a message that is only a greeting ("hello") or a
// thank-you ("thanks") from anything else ("").
func (k *KB) SmallTalk(text string) string {
	if len(text) > maxPhraseInput {
		return ""
	}
	ps := &k.idx.phrases
	f := k.fold(text)
	for {
		if kind, ok := ps.small[f]; ok {
			return kind
		}
		// "thanks bot", "hello gptaccess team": the same words, said to
		// someone.
		i := strings.LastIndexByte(f, ' ')
		if i < 0 || !ps.addressees[f[i+1:]] {
			return ""
		}
		f = f[:i]
	}
}

// MentionsError reports whether text names the error itself ("1020",
// "access denied", "Zugriff verweigert").
func (k *KB) MentionsError(text string) bool {
	if len(text) > maxInput {
		text = text[:maxInput]
	}
	f := " " + k.fold(text) + " "
	for _, m := range k.idx.phrases.mentions {
		if strings.Contains(f, " "+m+" ") {
			return true
		}
	}
	return false
}
