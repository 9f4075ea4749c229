package diagnosis

import (
	"fmt"
	"testing"
)

func TestSmoke(t *testing.T) {
	m := mustDefault(t)
	for _, s := range []string{
		"I'm on NordVPN and chatgpt says access denied 1020",
		"I don't use a VPN. works on my phone with mobile data",
		"not using a proxy",
		"I'm not currently using any VPN",
		"no vpn, no proxy, same on my phone",
		"doesn't work on nordvpn",
		"could it be my VPN?",
		"I'm on NordVPN, is that the problem?",
		"is it just me or is chatgpt down?",
		"it's not just me, everyone has it",
		"everyone else is fine",
		"POST https://api.openai.com/v1/chat/completions returns 403",
		"funktioniert im Inkognito-Modus, ohne VPN",
		"Ça marche en navigation privée, je n'utilise pas de VPN",
		"Funciona en modo incógnito, sin VPN, y funciona con datos móviles",
		"maybe a proxy?",
		"it might be my company proxy",
		"I'm on a VPN. I turned off my VPN and still get it",
		"Sorry, you have been blocked\nYou are unable to access chatgpt.com\nWhy have I been blocked?",
		"It says ```Access denied. If you are using a VPN, try turning it off.``` and I'm at the office",
		"> If you are using a VPN, try turning it off.\nI already did",
		"doesn't work in incognito either",
		"works on my phone but not on my laptop",
		"it started after I changed my password",
		"I didn't change my password",
		"I got an email from OpenAI saying my account was suspended",
		"no email from openai",
		"the whole office has it, works at home though",
		"only me, colleagues are fine",
		"my python script gets 1020",
		"I'm asking about python",
		"disabled my extensions and it works",
		"disabled all extensions, still blocked",
	} {
		fmt.Printf("%q -> %v\n", s, m.Extract(s))
	}
	for _, c := range []struct{ f, s string }{
		{"vpn", "yes"}, {"vpn", "y"}, {"vpn", "yep"}, {"vpn", "yeah I am"}, {"vpn", "sure"}, {"vpn", "I think so"},
		{"vpn", "no"}, {"vpn", "n"}, {"vpn", "nope"}, {"vpn", "no vpn"}, {"vpn", "not really"}, {"vpn", "nah"},
		{"vpn", "not sure"}, {"vpn", "no idea"}, {"vpn", "dunno"}, {"vpn", "maybe"}, {"vpn", "idk"},
		{"vpn", "1"}, {"vpn", "2"}, {"vpn", "3"}, {"vpn", "Not sure"}, {"vpn", "yes, NordVPN on my laptop"},
		{"vpn", "ja"}, {"vpn", "nein"}, {"vpn", "oui"}, {"vpn", "non"}, {"vpn", "sí"}, {"vpn", "No"},
		{"vpn", "what?"}, {"vpn", "purple"}, {"vpn", "how do I clear cookies"}, {"vpn", "I don't think so"},
		{"vpn", "I have no VPN"}, {"vpn", "I'm on NordVPN"}, {"vpn", "what is a vpn"}, {"vpn", "yesss"},
		{"vpn", "honestly no idea"}, {"vpn", "I really don't know"}, {"vpn", "well, yes"}, {"vpn", "ok"},
		{"private_window", "it works"}, {"private_window", "works on my phone"}, {"private_window", "same error"},
		{"private_window", "works fine"}, {"others_affected", "nobody"}, {"others_affected", "just me"},
		{"vpn", "peut-être"}, {"vpn", "keine Ahnung"}, {"vpn", "no sé"}, {"vpn", "probably not"},
		{"vpn", "weiß nicht"}, {"vpn", "nooo"}, {"vpn", "?"}, {"vpn", ""}, {"monitor_down", "yes"},
	} {
		v, ok := m.ParseAnswer(c.f, c.s)
		fmt.Printf("%s %q -> %q %v\n", c.f, c.s, v, ok)
	}
}
