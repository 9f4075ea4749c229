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
// (model.bin), so that a cold start does not spend over a second
// training: Parse loads them when the guide and lexicon are the embedded
// ones, and trains otherwise (an operator's own guide or lexicon). The file
// starts with a hash of every input; TestModelFileIsCurrent fails when it
// no longer matches what training produces, and `go test ./kb -run
// TestModelFileIsCurrent -update` rewrites it. Checking the hash there
// rather than at every start keeps the training data out of memory.

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
		b = binary.LittleEndian.AppendUint32(b, uint32(m.n))
		for r := range m.n {
			b = binary.LittleEndian.AppendUint64(b, m.key(r))
		}
		for i := range m.n * m.classes {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(m.weight(i)))
		}
	}
	return b
}

var errModel = errors.New("model file does not match")

// decodeModel reads a learner written by encodeModel, and the hash of the
// inputs it was trained from.
func decodeModel(b []byte) (l *learner, sum [32]byte, err error) {
	if len(b) < len(modelMagic)+len(sum)+4 || string(b[:len(modelMagic)]) != modelMagic {
		return nil, sum, errModel
	}
	copy(sum[:], b[len(modelMagic):])
	b = b[len(modelMagic)+len(sum):]
	u32 := func() (uint32, bool) {
		if len(b) < 4 {
			return 0, false
		}
		v := binary.LittleEndian.Uint32(b)
		b = b[4:]
		return v, true
	}
	none, _ := u32()
	l = &learner{noneCls: int(none)}
	for _, dst := range []**linear{&l.entry, &l.report, &l.answer} {
		classes, ok1 := u32()
		n, ok2 := u32()
		if !ok1 || !ok2 || classes == 0 || uint64(len(b)) < uint64(n)*(8+4*uint64(classes)) {
			return nil, sum, errModel
		}
		m := &linear{classes: int(classes), n: int(n), rawKeys: b[: 8*n : 8*n]}
		b = b[8*n:]
		m.rawW = b[: 4*n*classes : 4*n*classes]
		b = b[4*n*classes:]
		m.index()
		*dst = m
	}
	if len(b) != 0 {
		return nil, sum, errModel
	}
	return l, sum, nil
}
