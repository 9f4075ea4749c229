package diagnosis

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// cloudflarePage is the 1020 page as users paste it.
const cloudflarePage = `Access denied
Error code 1020
You do not have access to chatgpt.com.
The site owner may have set restrictions that prevent you from accessing the site.
Error details
Provided to the site owner to help identify you if you need to contact them.
Ray ID: 8a1b2c3d4e5f6789
Timestamp: 2024-05-01 10:00:00 UTC
Your IP address: 203.0.113.7
Requested URL: chatgpt.com/
Error reference number: 1020
Server ID: FL_385F36
User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36
Performance & security by Cloudflare`

// blockedPage is Cloudflare's generic block page.
const blockedPage = `Sorry, you have been blocked
You are unable to access chatgpt.com
Why have I been blocked?
This website is using a security service to protect itself from online attacks. The action you just performed triggered the security solution. There are several actions that could trigger this block including submitting a certain word or phrase, a SQL command or malformed data.
What can I do to resolve this?
You can email the site owner to let them know you were blocked. Please include what you were doing when this page came up and the Cloudflare Ray ID found at the bottom of this page.
Cloudflare Ray ID: 8a1b2c3d4e5f6789 • Your IP: Click to reveal • Performance & security by Cloudflare`

// TestExtract covers volunteered facts: plain cues, negation, hedges and
// questions, conflicts, pasted error pages, and other languages. It is one
// table of sentences and the facts read from them, long because the
// phrasings are many and read best side by side.
func TestExtract(t *testing.T) {
	m := mustDefault(t)
	type facts = map[string]string
	tests := []struct {
		text string
		want facts
	}{
		{"chatgpt says access denied 1020", facts{}},
		{"", facts{}},
		// yes cues
		{"I'm on NordVPN and chatgpt says access denied 1020", facts{"vpn": Yes}},
		{"we go through a corporate proxy at work", facts{"vpn": Yes}},
		{"using WireGuard to get to the office", facts{"vpn": Yes}},
		{"it works on my phone with mobile data", facts{"other_network": Yes}},
		{"works at home though", facts{"other_network": Yes}},
		{"works on 4G", facts{"other_network": Yes}},
		{"fine in incognito", facts{"private_window": Yes}},
		{"works in a private window", facts{"private_window": Yes}},
		{"my python script gets 1020", facts{"api": Yes}},
		{"POST https://api.openai.com/v1/chat/completions returns 403", facts{"api": Yes}},
		{"calling the API with curl fails", facts{"api": Yes}},
		{"it started after logging in again", facts{"login": Yes}},
		{"I changed my password yesterday", facts{"login": Yes}},
		{"I got an email from OpenAI about my usage", facts{"policy_notice": Yes}},
		{"my account suspended?? what", facts{"policy_notice": Yes}},
		{"everyone in the team has it", facts{"others_affected": Yes}},
		{"the whole team is blocked", facts{"others_affected": Yes}},
		{"nobody can use chatgpt", facts{"others_affected": Yes}},
		{"downdetector shows a spike", facts{"others_affected": Yes}},
		{"the whole office has it, works at home though", facts{"same_network_others": Yes, "other_network": Yes}},
		{"disabled my extensions and it works", facts{"extensions_off": Yes}},
		// negation
		{"no vpn", facts{"vpn": No}},
		{"not using a proxy", facts{"vpn": No}},
		{"I don't use a VPN", facts{"vpn": No}},
		{"I do not have a vpn", facts{"vpn": No}},
		{"I'm not currently using any VPN", facts{"vpn": No}},
		{"turned off my vpn, still blocked", facts{"vpn": No}},
		{"VPN is off", facts{"vpn": No}},
		{"doesn't work in incognito either", facts{"private_window": No}},
		{"same in incognito", facts{"private_window": No}},
		{"same on my phone", facts{"other_network": No}},
		{"it doesn't work on my phone either", facts{"other_network": No}},
		{"I didn't change my password", facts{"login": No}},
		{"no email from openai", facts{"policy_notice": No}},
		{"only me, colleagues are fine", facts{"others_affected": No, "same_network_others": No}},
		{"everyone else is fine", facts{"others_affected": No}},
		{"disabled all extensions, still blocked", facts{"extensions_off": No}},
		{"turned off my extensions n it works", facts{"extensions_off": Yes}}, // chat's "n" for "and"
		{"our summarizer backend calls openai and gets 1020 since the move", facts{"api": Yes}},
		{"the zapier integration to openai keeps failing with access denied", facts{"api": Yes}},
		// A negated outcome is not a negated cue.
		{"doesn't work on NordVPN", facts{"vpn": Yes}},
		{"it's not loading, I'm on a VPN", facts{"vpn": Yes}},
		// "not just me" says others are affected, nothing about colleagues.
		{"it's not just me, everyone has it", facts{"others_affected": Yes}},
		// Several facts and clauses.
		{"I don't use a VPN. works on my phone with mobile data", facts{"vpn": No, "other_network": Yes}},
		{"I'm on NordVPN but it works on my phone", facts{"vpn": Yes, "other_network": Yes}},
		{"no vpn, no proxy, same on my phone", facts{"vpn": No, "other_network": No}},
		{"works on my phone but not on my laptop", facts{"other_network": Yes}},
		// Hedges and questions are left for the bot to ask.
		{"maybe a proxy?", facts{}},
		{"it might be my company proxy", facts{}},
		{"not sure if I'm on a VPN", facts{}},
		{"could it be my VPN?", facts{}},
		{"is it just me or is chatgpt down?", facts{}},
		{"I'm on NordVPN, is that the problem?", facts{"vpn": Yes}},
		// Conflicting statements: ask instead.
		{"I'm on a VPN. I turned off my VPN and still get it", facts{}},
		// Words that merely contain a cue.
		{"I'm asking about python", facts{}},
		{"the vpns of the world", facts{"vpn": Yes}},
		{"the tunnelvision", facts{}},
		// Pasted error pages say "VPN" and "chatgpt.com"; that is not the user.
		{cloudflarePage, facts{}},
		{blockedPage, facts{}},
		{"If you are using a VPN, try turning it off.", facts{}},
		{"Access denied. If you are using a VPN, try turning it off. I'm not on a VPN though", facts{"vpn": No}},
		{"it says:\n" + cloudflarePage + "\nand I'm on NordVPN", facts{"vpn": Yes}},
		{"It says ```Access denied. If you are using a VPN, try turning it off.``` and I'm at the office", facts{}},
		{"> If you are using a VPN, try turning it off.\nI already did", facts{}},
		{"```\nUnable to load site\nIf you are using a VPN, try turning it off.\n```\nworks on my phone", facts{"other_network": Yes}},
		{"Your IP address: 203.0.113.7 via my vpn", facts{}},
		// German, French, Spanish
		{"Ich nutze ein VPN", facts{"vpn": Yes}},
		{"ohne VPN, funktioniert am Handy", facts{"vpn": No, "other_network": Yes}},
		{"funktioniert im Inkognito-Modus", facts{"private_window": Yes}},
		{"je n'utilise pas de VPN", facts{"vpn": No}},
		{"Ça marche en navigation privée", facts{"private_window": Yes}},
		{"ça marche en 4G", facts{"other_network": Yes}},
		{"sin VPN", facts{"vpn": No}},
		{"no uso VPN", facts{"vpn": No}},
		{"Funciona en modo incógnito", facts{"private_window": Yes}},
		{"funciona con datos móviles", facts{"other_network": Yes}},
		{"todo el mundo tiene el error", facts{"others_affected": Yes}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, m.Extract(tt.text)); diff != "" {
			t.Errorf("Extract(%q) (-want +got):\n%s", tt.text, diff)
		}
	}
}

// TestExtractLongText bounds the work on huge input without losing the
// message's start.
func TestExtractLongText(t *testing.T) {
	m := mustDefault(t)
	long := "I'm on NordVPN. " + string(make([]byte, 1<<20))
	if diff := cmp.Diff(map[string]string{"vpn": Yes}, m.Extract(long)); diff != "" {
		t.Errorf("Extract(long) (-want +got):\n%s", diff)
	}
}
