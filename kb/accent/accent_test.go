package accent

import "testing"

func TestStrip(t *testing.T) {
	for in, want := range map[rune]string{
		'é': "e", 'É': "e", 'ñ': "n", 'ß': "ss", 'Œ': "oe", 'ł': "l",
		'a': "", 'Z': "", '1': "", '’': "", '中': "",
	} {
		if got := Strip(in); got != want {
			t.Errorf("Strip(%q) = %q, want %q", in, got, want)
		}
	}
}
