package diagnosis

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"errors"
	"math"
	"slices"
)

// The question plan of the embedded model ships computed (plan.bin), as
// the classifiers do (kb/model.bin): building it takes about 50 ms, which
// was most of a cold `gptaccess ask` of a problem report. The file starts
// with the SHA-256 of the diagnosis.yaml it was computed from; a model
// parsed from any other text (an operator's copy) plans on first use as
// before. `go test ./kb/diagnosis -run TestPlanFileIsCurrent -update`
// rewrites it after diagnosis.yaml changes.
//
//go:embed plan.bin
var planBin []byte

// planTable is a plan as (key uint64, expected questions float64) pairs,
// little-endian, sorted by key: the embedded plan.bin is read in place
// (only the pages of states looked up are ever read), and a plan built at
// run time takes the same form.
type planTable []byte

// get returns the expected questions from the state with key k.
func (t planTable) get(k uint64) (float64, bool) {
	n := len(t) / 16
	lo, hi := 0, n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if binary.LittleEndian.Uint64(t[16*mid:]) < k {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < n && binary.LittleEndian.Uint64(t[16*lo:]) == k {
		return math.Float64frombits(binary.LittleEndian.Uint64(t[16*lo+8:])), true
	}
	return 0, false
}

// tableOf sorts value into a planTable.
func tableOf(value map[uint64]float64) planTable {
	keys := make([]uint64, 0, len(value))
	for k := range value {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]byte, 0, 16*len(keys))
	for _, k := range keys {
		out = binary.LittleEndian.AppendUint64(out, k)
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(value[k]))
	}
	return out
}

// encodePlan is table in plan.bin's format for a model parsed from src:
// the source's SHA-256, then the table.
func encodePlan(src []byte, table planTable) []byte {
	sum := sha256.Sum256(src)
	return append(sum[:], table...)
}

// decodePlan returns the table of plan.bin, in place, for a model parsed
// from src; it fails when the file was made from another source.
func decodePlan(src, b []byte) (planTable, error) {
	sum := sha256.Sum256(src)
	if len(b) < len(sum) || !bytes.Equal(b[:len(sum)], sum[:]) {
		return nil, errors.New("plan.bin was computed from another diagnosis.yaml")
	}
	if t := b[len(sum):]; len(t)%16 == 0 {
		return t, nil
	}
	return nil, errors.New("plan.bin is truncated")
}

// usePlan makes table the model's plan, as if it had been built.
func (m *Model) usePlan(table planTable) {
	m.plan.once.Do(func() { m.plan.table = table })
}
