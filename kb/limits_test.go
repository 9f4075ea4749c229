package kb

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGuideLimits: a guide past a limit is refused before training (which
// would take a minute for 730 entries), with an error naming the limit
// and the entry; every problem is reported at once.
func TestGuideLimits(t *testing.T) {
	long := strings.Repeat("word ", MaxLineBytes/5+1)
	many := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	tests := []struct {
		name string
		edit func([]map[string]any) []map[string]any
		want []string
	}{
		{
			name: "too many entries",
			edit: func(es []map[string]any) []map[string]any {
				for i := len(es); i <= MaxEntries; i++ {
					es = append(es, map[string]any{"id": fmt.Sprintf("extra-%d", i), "title": "Extra", "body": "More.", "examples": []string{"extra"}})
				}
				return es
			},
			want: []string{fmt.Sprintf("%d entries: a guide may have at most %d", MaxEntries+1, MaxEntries)},
		},
		{
			name: "too many examples",
			edit: editEntry("fix-vpn", func(e map[string]any) {
				e["examples"] = many(MaxExamples+1, func(i int) string { return fmt.Sprintf("vpn question %d", i) })
			}),
			want: []string{fmt.Sprintf(`entry "fix-vpn": field "examples": %d examples, at most %d`, MaxExamples+1, MaxExamples)},
		},
		{
			name: "long example, title and keyword",
			edit: editEntry("fix-vpn", func(e map[string]any) {
				e["examples"] = []string{"short", long}
				e["title"] = long
				e["keywords"] = map[string]any{long: 1}
			}),
			want: []string{
				fmt.Sprintf(`entry "fix-vpn": field "examples": item 2 has %d bytes, at most %d`, len(long), MaxLineBytes),
				fmt.Sprintf(`entry "fix-vpn": field "title": %d bytes, at most %d`, len(long), MaxLineBytes),
				fmt.Sprintf(`entry "fix-vpn": field "keywords": a term of %d bytes, at most %d`, len(long), MaxLineBytes),
			},
		},
		{
			name: "too many keywords",
			edit: editEntry("fix-vpn", func(e map[string]any) {
				kw := map[string]any{}
				for i := range MaxKeywords + 1 {
					kw[fmt.Sprintf("term%d", i)] = 1
				}
				e["keywords"] = kw
			}),
			want: []string{fmt.Sprintf(`entry "fix-vpn": field "keywords": %d keywords, at most %d`, MaxKeywords+1, MaxKeywords)},
		},
		{
			name: "long body",
			edit: editEntry("fix-vpn", func(e map[string]any) { e["body"] = strings.Repeat("Turn the VPN off. ", MaxBodyBytes/18+1) }),
			want: []string{`entry "fix-vpn": field "body":`, fmt.Sprintf("at most %d", MaxBodyBytes)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(guideWith(t, tt.edit))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}

	// At the limits, a guide loads.
	at := operatorGuide(guideShape{entries: MaxEntries, examples: MaxExamples, exampleBytes: MaxLineBytes})
	if err := guideLimits.check(mustDecode(t, at)); err != nil {
		t.Errorf("a guide at the limits is refused: %v", err)
	}
	if len(at) > MaxGuideBytes {
		t.Errorf("a guide at the limits has %d bytes, over the file cap of %d", len(at), MaxGuideBytes)
	}
}

func mustDecode(t *testing.T, data []byte) []Entry {
	t.Helper()
	es, err := decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestGuideFileCap: kb.file is refused past MaxGuideBytes before it is
// parsed.
func TestGuideFileCap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kb.yaml")
	big := append(append([]byte(nil), guideYAML...), "\n#"+strings.Repeat("x", MaxGuideBytes)+"\n"...)
	if err := os.WriteFile(path, big, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(path)
	if err == nil || !strings.Contains(err.Error(), "1 MiB") && !strings.Contains(err.Error(), fmt.Sprint(MaxGuideBytes)) {
		t.Errorf("LoadFile of %d bytes: %v, want the cap named", len(big), err)
	}
}
