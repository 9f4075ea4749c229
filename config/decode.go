package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The file is decoded by walking yaml's node tree alongside the Config
// struct rather than by one yaml.Decode, so that every problem can name its
// YAML path and line, secrets get their own message, and one bad value does
// not hide the next. A strict yaml decode with KnownFields then cross-checks
// that no unknown key got past the walk.

const (
	maxDecodeErrors = maxProblems // more than this and the rest is noise
	maxNodeVisits   = 100000      // bounds the work aliases can cause
)

var durationType = reflect.TypeFor[time.Duration]()

type decoder struct {
	errs   []*FieldError
	lines  map[string]int // YAML path → line its value was set on
	visits int
}

func newDecoder() *decoder { return &decoder{lines: map[string]int{}} }

// decodeFile decodes data over c. A YAML syntax error is returned at once
// (nothing else can be trusted then); problems with values are collected in
// d.errs.
func (d *decoder) decodeFile(data []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file, or only comments
		}
		return err
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return errors.New("yaml: the file must hold one YAML document, found more than one")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	d.mapping(root, reflect.ValueOf(c).Elem(), "")
	if len(d.errs) == 0 {
		d.crossCheck(data)
	}
	return nil
}

// crossCheck decodes data with yaml's own KnownFields check and reports any
// unknown key the walk missed. Type errors are ignored: the walk decides
// those (it accepts `0` for a duration, which yaml does not).
func (d *decoder) crossCheck(data []byte) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var shadow Config
	err := dec.Decode(&shadow)
	var te *yaml.TypeError
	switch {
	case err == nil, errors.Is(err, io.EOF):
	case errors.As(err, &te):
		for _, msg := range te.Errors {
			if strings.Contains(msg, " not found in type ") {
				d.errs = append(d.errs, &FieldError{Err: fmt.Errorf("%w: %s", ErrUnknownKey, msg)})
			}
		}
	default:
		d.errs = append(d.errs, &FieldError{Err: err})
	}
}

func (d *decoder) add(line int, path string, err error) {
	if len(d.errs) > maxDecodeErrors {
		return // joinProblems says there were more
	}
	d.errs = append(d.errs, &FieldError{Path: path, Line: line, Err: err})
}

// line returns the line where path, or the list item containing it, was set
// in the file; 0 if the file did not set it.
func (d *decoder) line(path string) int {
	if l, ok := d.lines[path]; ok {
		return l
	}
	if i := strings.LastIndexByte(path, ']'); i > 0 {
		return d.lines[path[:i+1]]
	}
	return 0
}

// deref follows aliases. It returns nil once the visit budget is spent.
func (d *decoder) deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil {
		return nil
	}
	d.visits++
	if d.visits == maxNodeVisits {
		d.add(n.Line, "", errors.New("the document is too large or uses too many aliases"))
	}
	if d.visits >= maxNodeVisits {
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// mapping decodes the mapping n into the struct v.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n = d.deref(n); n == nil || isNull(n) {
		return // an empty section keeps its defaults
	}
	if n.Kind != yaml.MappingNode {
		what := "must be a mapping of keys to values"
		if path == "" {
			what = "the configuration must be a YAML mapping of sections (log, http, …)"
		}
		d.add(n.Line, path, fmt.Errorf("%s, found %s", what, describe(n)))
		return
	}
	fields := yamlFields(v.Type())

	// YAML merge keys: merged values apply first, so that the mapping's own
	// keys override them wherever they appear.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			d.merge(n.Content[i+1], v, path)
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.add(k.Line, path, fmt.Errorf("keys must be plain names, found %s", describe(k)))
			continue
		}
		key := k.Value
		child := joinPath(path, key)
		if first, dup := seen[key]; dup {
			d.add(k.Line, child, fmt.Errorf("duplicate key (first set on line %d)", first))
			continue
		}
		seen[key] = k.Line
		f, ok := fields[key]
		if !ok {
			d.unknown(k, child, key, v.Type())
			continue
		}
		d.lines[child] = k.Line
		d.value(val, v.Field(f), child)
	}
}

func (d *decoder) merge(n *yaml.Node, v reflect.Value, path string) {
	if n = d.deref(n); n == nil {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		d.mapping(n, v, path)
	case yaml.SequenceNode:
		// Earlier mappings win, so apply them last.
		for i := len(n.Content) - 1; i >= 0; i-- {
			if m := d.deref(n.Content[i]); m != nil && m.Kind != yaml.MappingNode {
				d.add(m.Line, path, fmt.Errorf("<< must merge mappings, found %s", describe(m)))
				continue
			}
			d.mapping(n.Content[i], v, path)
		}
	default:
		d.add(n.Line, path, fmt.Errorf("<< must merge a mapping, found %s", describe(n)))
	}
}

func (d *decoder) unknown(k *yaml.Node, path, key string, t reflect.Type) {
	if env, ok := secretKeyHint(path); ok {
		d.add(k.Line, path, fmt.Errorf("%w: remove this key and set %s", ErrSecretInFile, env))
		return
	}
	names := fieldNames(t)
	hint := ""
	if s := suggest(key, names); s != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", s)
	} else if len(names) > 0 {
		hint = " (known keys: " + strings.Join(names, ", ") + ")"
	}
	d.add(k.Line, path, fmt.Errorf("%w%s", ErrUnknownKey, hint))
}

// value decodes n into the field v at path.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	switch {
	case v.Kind() == reflect.Struct:
		d.mapping(n, v, path)
	case v.Kind() == reflect.Slice:
		d.list(n, v, path)
	default:
		d.scalar(n, v, path)
	}
}

// list decodes a sequence into the slice v, replacing what was there.
func (d *decoder) list(n *yaml.Node, v reflect.Value, path string) {
	if n = d.deref(n); n == nil {
		return
	}
	if isNull(n) {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.add(n.Line, path, fmt.Errorf("must be a list (%s), found %s", listExample(v.Type()), describe(n)))
		return
	}
	s := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	for i, item := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.lines[p] = item.Line
		e := reflect.New(v.Type().Elem()).Elem()
		if e.Kind() == reflect.Struct {
			d.mapping(item, e, p)
		} else {
			d.scalar(item, e, p)
		}
		s = reflect.Append(s, e)
	}
	v.Set(s)
}

// scalar decodes a single value into v; null leaves v as it was.
func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	if n = d.deref(n); n == nil || isNull(n) {
		return
	}
	if n.Kind == yaml.ScalarNode && looksLikeToken(n.Value) {
		d.add(n.Line, path, fmt.Errorf("%w: this looks like a Slack token; remove it and set SLACK_BOT_TOKEN or SLACK_APP_TOKEN", ErrSecretInFile))
		return
	}
	if v.Type() == durationType {
		if n.Kind != yaml.ScalarNode {
			d.add(n.Line, path, fmt.Errorf("must be a duration such as \"30s\" or \"5m\", found %s", describe(n)))
			return
		}
		dur, err := time.ParseDuration(strings.TrimSpace(n.Value))
		if err != nil {
			d.add(n.Line, path, fmt.Errorf("invalid duration %s: use a number with a unit, such as \"30s\", \"5m\" or \"720h\"", describe(n)))
			return
		}
		v.SetInt(int64(dur))
		return
	}
	p := reflect.New(v.Type())
	if err := n.Decode(p.Interface()); err != nil {
		d.add(n.Line, path, fmt.Errorf("must be %s, found %s", typeName(v.Type()), describe(n)))
		return
	}
	v.Set(p.Elem())
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names what a node holds for an error message.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return quote(n.Value)
	}
	return "something else"
}

// quote quotes s for an error message, shortened: values are echoed to help
// find them, not to reproduce them.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a single value"
	}
	return t.String()
}

func listExample(t reflect.Type) string {
	switch t.Elem().Kind() {
	case reflect.Struct:
		return "- {name: …, kind: …, url: …} per item"
	case reflect.Int:
		return "e.g. [200, 401]"
	}
	return `e.g. ["C0123456789"], or [] for none`
}

// yamlFields maps a struct's YAML keys to field indexes.
func yamlFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			m[name] = i
		}
	}
	return m
}

// fieldNames lists a struct's YAML keys in declaration order.
func fieldNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			names = append(names, name)
		}
	}
	return names
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

// suggest returns the known key closest to a misspelt one, or "".
func suggest(key string, names []string) string {
	best, bestDist := "", 3 // at most two edits away
	for _, n := range names {
		// Short keys are close to everything; a suggestion must share
		// most of the key.
		if dist := editDistance(key, n); dist < bestDist && 2*dist < len(key) {
			best, bestDist = n, dist
		}
	}
	if best == "" {
		for _, n := range names { // "logging" for "log", "listen" for "listen_address"
			if len(key) >= 3 && (strings.HasPrefix(n, key) || strings.HasPrefix(key, n)) {
				return n
			}
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
