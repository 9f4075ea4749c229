package kb

import (
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"slices"
)

// The trained classifiers of the embedded guide ship with the binary
// (model.bin), so that a cold start does not spend a quarter of a second
// training: Parse loads them when its inputs are exactly those they were
// trained from, and trains otherwise (an operator's own guide). The file
// starts with a hash of every input; TestModelFileIsCurrent fails when it
// no longer matches what training produces, and `go test ./kb -run
// TestModelFileIsCurrent -update` rewrites it.

//go:embed model.bin
var modelBin []byte

// modelMagic starts model.bin; bump its digit when the layout changes.
const modelMagic = "gptaccess-model-2"

// inputsHash identifies everything training depends on: the guide, the
// training files, the lexicon and the training settings. (The code that
// turns them into features is covered by TestModelFileIsCurrent.)
func (k *KB) inputsHash(guide []byte, lx *Lexicon) ([32]byte, error) {
	h := sha256.New()
	put := func(b []byte) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	put([]byte(modelMagic))
	put(guide)
	files, err := fs.Glob(training, "training/messages/*.tsv")
	if err != nil {
		return [32]byte{}, err
	}
	slices.Sort(files)
	for _, f := range files {
		data, err := training.ReadFile(f)
		if err != nil {
			return [32]byte{}, err
		}
		put([]byte(f))
		put(data)
	}
	put(answersTSV)
	put(lx.raw)
	var p [24]byte
	binary.LittleEndian.PutUint64(p[0:], trainEpochs)
	binary.LittleEndian.PutUint64(p[8:], math.Float64bits(trainRate))
	binary.LittleEndian.PutUint64(p[16:], math.Float64bits(trainL2))
	put(p[:])
	var sum [32]byte
	h.Sum(sum[:0])
	return sum, nil
}

// encodeModel writes the learner after a header naming its inputs.
func encodeModel(sum [32]byte, l *learner) []byte {
	b := append([]byte(modelMagic), sum[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(l.noneCls))
	for _, m := range []*linear{l.entry, l.report, l.answer} {
		b = binary.LittleEndian.AppendUint32(b, uint32(m.classes))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(m.keys)))
		for _, k := range m.keys {
			b = binary.LittleEndian.AppendUint64(b, k)
		}
		for _, w := range m.w {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(w))
		}
	}
	return b
}

var errModel = errors.New("model file does not match")

// decodeModel reads a learner written by encodeModel for inputs sum.
func decodeModel(b []byte, sum [32]byte) (*learner, error) {
	hdr := append([]byte(modelMagic), sum[:]...)
	if len(b) < len(hdr)+4 || string(b[:len(hdr)]) != string(hdr) {
		return nil, errModel
	}
	b = b[len(hdr):]
	u32 := func() (uint32, bool) {
		if len(b) < 4 {
			return 0, false
		}
		v := binary.LittleEndian.Uint32(b)
		b = b[4:]
		return v, true
	}
	none, _ := u32()
	l := &learner{noneCls: int(none)}
	for _, dst := range []**linear{&l.entry, &l.report, &l.answer} {
		classes, ok1 := u32()
		n, ok2 := u32()
		if !ok1 || !ok2 || classes == 0 || uint64(len(b)) < uint64(n)*(8+4*uint64(classes)) {
			return nil, errModel
		}
		m := &linear{classes: int(classes), keys: make([]uint64, n), w: make([]float32, int(n)*int(classes))}
		for i := range m.keys {
			m.keys[i] = binary.LittleEndian.Uint64(b[8*i:])
		}
		b = b[8*n:]
		for i := range m.w {
			m.w[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		b = b[4*len(m.w):]
		m.index()
		*dst = m
	}
	if len(b) != 0 {
		return nil, errModel
	}
	return l, nil
}
