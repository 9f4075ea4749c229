// Package accent spells accented Latin letters in ASCII: the one text
// normalisation the matcher (kb) and the diagnosis (kb/diagnosis) share, so
// that "Inkognito", "incógnito" and "navigation privée" meet their plain
// spellings. A small table covers German, French and Spanish and their
// neighbours without pulling in golang.org/x/text for full normalisation.
package accent

import "unicode"

// Strip returns the ASCII spelling of an accented Latin letter r, upper or
// lower case ("é" and "É" give "e", "ß" gives "ss"), or "" when r is not one.
func Strip(r rune) string {
	r = unicode.ToLower(r)
	switch r {
	case 'à', 'á', 'â', 'ã', 'ä', 'å', 'ā', 'ă', 'ą':
		return "a"
	case 'ç', 'ć', 'ĉ', 'ċ', 'č':
		return "c"
	case 'ð', 'ď', 'đ':
		return "d"
	case 'è', 'é', 'ê', 'ë', 'ē', 'ĕ', 'ė', 'ę', 'ě':
		return "e"
	case 'ì', 'í', 'î', 'ï', 'ĩ', 'ī', 'ĭ', 'į', 'ı':
		return "i"
	case 'ñ', 'ń', 'ņ', 'ň':
		return "n"
	case 'ò', 'ó', 'ô', 'õ', 'ö', 'ø', 'ō', 'ŏ', 'ő':
		return "o"
	case 'ù', 'ú', 'û', 'ü', 'ũ', 'ū', 'ŭ', 'ů', 'ű', 'ų':
		return "u"
	case 'ý', 'ÿ':
		return "y"
	case 'ß':
		return "ss"
	case 'æ':
		return "ae"
	case 'œ':
		return "oe"
	case 'þ':
		return "th"
	case 'ś', 'š', 'ş':
		return "s"
	case 'ź', 'ż', 'ž':
		return "z"
	case 'ł':
		return "l"
	case 'ğ':
		return "g"
	case 'ť', 'ţ':
		return "t"
	case 'ř':
		return "r"
	}
	return ""
}
