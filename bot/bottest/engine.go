package bottest

import (
	"testing"

	"gptaccess/bot"
	"gptaccess/kb"
	"gptaccess/kb/diagnosis"
)

// Engine returns the real engine with the embedded knowledge base and
// diagnosis model; o supplies the rest (nil Store keeps conversations in
// memory).
func Engine(tb testing.TB, o bot.Options) *bot.Engine {
	tb.Helper()
	k, err := kb.Default()
	if err != nil {
		tb.Fatal(err)
	}
	m, err := diagnosis.Default(k.Has)
	if err != nil {
		tb.Fatal(err)
	}
	o.KB, o.Model = k, m
	e, err := bot.New(o)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}
