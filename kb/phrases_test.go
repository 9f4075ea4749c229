package kb

import "testing"

func TestCommand(t *testing.T) {
	k := mustDefault(t)
	for in, want := range map[string][2]string{
		"help":                      {"help", ""},
		"  Start   Over! ":          {"start over", ""},
		"!!ask What is Error 1020?": {"ask", "What is Error 1020"},
		"/diagnose I'm on a VPN":    {"diagnose", "I'm on a VPN"},
		"what is error 1020":        {"", ""},
		"stopwatch":                 {"", ""},
		"<@U024BE7LH> Hilfe!":       {"help", ""},
		"RESUME":                    {"resume", ""},
		"Find my cause":             {"diagnose", ""},
	} {
		cmd, rest := k.Command(in)
		if cmd != want[0] || rest != want[1] {
			t.Errorf("command(%q) = %q, %q; want %q, %q", in, cmd, rest, want[0], want[1])
		}
	}
}

func TestSmallTalk(t *testing.T) {
	k := mustDefault(t)
	for in, want := range map[string]string{
		"hello": "hello", "Good morning everyone :)": "hello", "Hola!": "hello", "thanks!": "thanks",
		"Merci beaucoup": "thanks", "great, thanks": "thanks", "hello, chatgpt says 1020": "", "lol": "",
		"thank you bot 🙏": "thanks", "ok thanks bot": "thanks", "obrigado pessoal": "thanks", "hi team": "hello",
		"thanks for nothing bot": "", "bot": "", "thanks bot, still 1020": "",
	} {
		if got := k.SmallTalk(in); got != want {
			t.Errorf("SmallTalk(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMentionsError(t *testing.T) {
	k := mustDefault(t)
	for in, want := range map[string]bool{
		"error 1020 right after I changed my password": true, "Zugriff verweigert": true,
		"ACCÈS REFUSÉ partout": true, "room 10200": false, "it works": false,
	} {
		if got := k.MentionsError(in); got != want {
			t.Errorf("MentionsError(%q) = %v, want %v", in, got, want)
		}
	}
}
