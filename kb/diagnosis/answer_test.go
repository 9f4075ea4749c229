package diagnosis

import "testing"

// TestParseAnswer covers the ways people answer a yes/no/not-sure question
// in chat, and what must not count as an answer: one table of replies and
// their readings, long because the replies are many.
func TestParseAnswer(t *testing.T) {
	m := mustDefault(t)
	const bad = "cannot tell"
	tests := []struct {
		fact, text, want string
	}{
		// yes
		{"vpn", "yes", Yes}, {"vpn", "Yes", Yes}, {"vpn", "y", Yes}, {"vpn", "Y", Yes}, {"vpn", "yep", Yes},
		{"vpn", "yeah", Yes}, {"vpn", "yeah I am", Yes}, {"vpn", "yup!", Yes}, {"vpn", "sure", Yes},
		{"vpn", "I think so", Yes}, {"vpn", "yesss", Yes}, {"vpn", "well, yes", Yes}, {"vpn", "of course", Yes},
		{"vpn", "yes, NordVPN on my laptop", Yes}, {"vpn", "I am", Yes}, {"vpn", "I'm on NordVPN", Yes},
		{"vpn", "nordvpn", Yes}, {"vpn", "we have a corporate proxy", Yes},
		// no
		{"vpn", "no", No}, {"vpn", "No", No}, {"vpn", "n", No}, {"vpn", "nope", No}, {"vpn", "nah", No},
		{"vpn", "no vpn", No}, {"vpn", "not really", No}, {"vpn", "nooo", No}, {"vpn", "I don't think so", No},
		{"vpn", "I have no VPN", No}, {"vpn", "I'm not", No}, {"vpn", "not on a vpn", No},
		{"vpn", "probably not", No}, {"vpn", "I don't use a VPN", No}, {"vpn", "never", No},
		// unsure
		{"vpn", "not sure", Unsure}, {"vpn", "Not sure", Unsure}, {"vpn", "no idea", Unsure},
		{"vpn", "dunno", Unsure}, {"vpn", "maybe", Unsure}, {"vpn", "idk", Unsure}, {"vpn", "I don't know", Unsure},
		{"vpn", "honestly no idea", Unsure}, {"vpn", "I really don't know", Unsure}, {"vpn", "unsure", Unsure},
		{"vpn", "i'm not sure", Unsure}, {"vpn", "no clue", Unsure},
		// not tried yet: cannot tell
		{"other_network", "haven't tested", Unsure}, {"private_window", "I haven't tried", Unsure},
		{"extensions_off", "didn't try that", Unsure},
		// the writer's last word: a correction, a final verdict of its own
		{"vpn", "no... oh wait, I forgot the work proxy. so yes", Yes},
		{"policy_notice", "hmm not sure. oh wait, there's a mail from openai in my spam. so yes", Yes},
		{"vpn", "yes, no wait, that was yesterday. no", No},
		{"private_window", "yes I tried it, still 1020", No}, {"private_window", "yep tried incognito, still broken", No},
		{"private_window", "yes, it works there", Yes},
		{"vpn", "No VPN, I am sure.", No}, {"other_network", "It does the same on my phone.", No},
		{"private_window", "yeah tried private browsing, nope", No},
		{"private_window", "Já experimentei a janela anónima e nada", bad}, {"vpn", "ja", Yes},
		// a statement that starts like an answer is read as a whole
		{"extensions_off", "I don't have many, a password manager and a translator. disabled both and it works now", bad},
		{"others_affected", "unknown", Unsure},
		{"vpn", "I don't believe so", No}, {"vpn", "not to my knowledge", No},
		// "the same": no to a step tried, yes to whether others see it
		{"private_window", "igual", No}, {"extensions_off", "pareil", No}, {"other_network", "dasselbe", No},
		{"others_affected", "the same", Yes}, {"same_network_others", "same here", Yes},
		// a step taken, and "now" it works
		{"extensions_off", "Turned off all extensions in the normal window and now it loads!", Yes},
		{"extensions_off", "disabled all extensions, now it still doesn't load", No},
		{"extensions_off", "turned off all extensions", No},
		{"extensions_off", "with extensions disabled it's fine", Yes},
		{"extensions_off", "with the extensions off it's still the same", No},
		{"private_window", "the extensions are all off, it works", bad},
		{"extensions_off", "turned off all extensions and it loads. was the coupon one I think", Yes},
		{"extensions_off", "turned off all extensions and it still doesn't load", No},
		{"extensions_off", "no extensions, and it works in incognito", No},
		// German and French negate after the verb
		{"other_network", "Übers Handy mit mobilen Daten geht es auch nicht.", No},
		{"other_network", "mit mobilen Daten geht es", Yes},
		// Portuguese "no"/"na" leading a clause is "in the", not an answer
		{"other_network", "no meu celular abre normal", bad}, {"other_network", "não, no celular também não abre", No},
		{"vpn", "no abre en el celular", No},
		// numbered choices and button labels
		{"vpn", "1", Yes}, {"vpn", "2", No}, {"vpn", "3", Unsure}, {"vpn", "2.", No}, {"vpn", "(3)", Unsure},
		{"vpn", "option 1", Yes}, {"vpn", "4", bad}, {"vpn", "not sure", Unsure},
		// German, French, Spanish
		{"vpn", "ja", Yes}, {"vpn", "Ja, klar", Yes}, {"vpn", "nein", No}, {"vpn", "keine Ahnung", Unsure},
		{"vpn", "weiß nicht", Unsure}, {"vpn", "vielleicht", Unsure},
		{"vpn", "oui", Yes}, {"vpn", "non", No}, {"vpn", "je ne sais pas", Unsure}, {"vpn", "peut-être", Unsure},
		{"vpn", "sí", Yes}, {"vpn", "si", Yes}, {"vpn", "no sé", Unsure}, {"vpn", "tal vez", Unsure},
		// the fact's own answer phrases
		{"private_window", "it works", Yes}, {"private_window", "works fine", Yes}, {"private_window", "it works, thanks", Yes},
		{"private_window", "same error", No}, {"private_window", "still blocked", No},
		{"other_network", "it works", Yes}, {"other_network", "works on my phone", Yes},
		{"others_affected", "nobody", No}, {"others_affected", "just me", No}, {"others_affected", "everyone", Yes},
		{"same_network_others", "everyone", Yes}, {"api", "the website", No}, {"api", "python script", Yes},
		{"extensions_off", "I have none", No}, {"policy_notice", "nothing", No},
		// not answers
		{"vpn", "what?", bad}, {"vpn", "purple", bad}, {"vpn", "how do I clear cookies", bad},
		{"vpn", "what is a vpn", bad}, {"vpn", "is that bad?", bad}, {"vpn", "ok", bad}, {"vpn", "?", bad},
		{"vpn", "", bad}, {"vpn", "   ", bad}, {"vpn", "works on my phone", bad},
		{"private_window", "works on my phone", bad}, {"private_window", "it works on my phone", bad},
		{"nope", "yes", bad}, {MonitorDown, "yes", bad},
	}
	for _, tt := range tests {
		got, ok := m.ParseAnswer(tt.fact, tt.text)
		if !ok {
			got = bad
		}
		if got != tt.want {
			t.Errorf("ParseAnswer(%q, %q) = %q, want %q", tt.fact, tt.text, got, tt.want)
		}
	}
}

// TestParseAnswerLabels accepts an operator's own (translated) button labels.
func TestParseAnswerLabels(t *testing.T) {
	m, err := Parse([]byte(edit(t,
		"    question: Are you connected through a VPN or proxy (a work proxy counts)?\n    choices: [yes, no, not sure]",
		"    question: Nutzt du ein VPN?\n    choices: [\"Ja, VPN\", \"Kein VPN\", \"Weiß ich nicht genau\"]")), nil)
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]string{"Ja, VPN": Yes, "Kein VPN": No, "weiß ich nicht genau": Unsure, "3": Unsure} {
		if got, ok := m.ParseAnswer("vpn", text); !ok || got != want {
			t.Errorf("ParseAnswer(vpn, %q) = %q, %v; want %q", text, got, ok, want)
		}
	}
}

// TestMentions: an answer names its question's subject, or not.
func TestMentions(t *testing.T) {
	m := mustDefault(t)
	for _, c := range []struct {
		fact, text string
		want       bool
	}{
		{"extensions_off", "I turned the extensions off like the guide said and nothing changed", true},
		{"other_network", "and the phone hotspot is the same", true},
		{"private_window", "works on my phone with mobile data", false},
		{"vpn", "Zscaler is always on", true},
		{"nosuchfact", "vpn", false},
	} {
		if got := m.Mentions(c.fact, c.text); got != c.want {
			t.Errorf("Mentions(%s, %q) = %v, want %v", c.fact, c.text, got, c.want)
		}
	}
}
