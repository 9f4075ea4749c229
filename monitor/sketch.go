package monitor

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"slices"
	"time"
)

// Sketch is a mergeable histogram of latencies: the history keeps one per
// target and hour, and a window's percentiles come from merging them
// instead of reading every result. Its buckets are exact to the
// microsecond below 1 ms and to the millisecond up to 8.192 s (what the
// status page and the digest show), and within 0.4% above; so a
// percentile read from it shows as the same number of milliseconds as the
// exact one. The zero value is empty and ready to use.
type Sketch struct {
	bins []bin // sorted by index, counts > 0
}

type bin struct{ index, count uint32 }

// Bucket layout: indexes below usBuckets count microseconds, the next
// msBuckets count milliseconds from 1 ms, and above that each power of
// two is split into subBuckets.
const (
	usBuckets  = 1000
	msBuckets  = 8191
	msTop      = msBuckets + 1 // first millisecond value past the exact range
	subBits    = 8
	subBuckets = 1 << subBits
	logStart   = usBuckets + msBuckets
)

// Add counts one latency; negative ones count as zero.
func (s *Sketch) Add(d time.Duration) { s.addN(bucketOf(d), 1) }

func (s *Sketch) addN(index, n uint32) {
	i, found := slices.BinarySearchFunc(s.bins, index, func(b bin, t uint32) int { return int(b.index) - int(t) })
	if found {
		s.bins[i].count += n
		return
	}
	s.bins = slices.Insert(s.bins, i, bin{index, n})
}

// Merge adds every latency counted in o.
func (s *Sketch) Merge(o Sketch) {
	if len(o.bins) == 0 {
		return
	}
	if len(s.bins) == 0 {
		s.bins = slices.Clone(o.bins)
		return
	}
	out := make([]bin, 0, len(s.bins)+len(o.bins))
	i, j := 0, 0
	for i < len(s.bins) && j < len(o.bins) {
		a, b := s.bins[i], o.bins[j]
		switch {
		case a.index < b.index:
			out = append(out, a)
			i++
		case a.index > b.index:
			out = append(out, b)
			j++
		default:
			out = append(out, bin{a.index, a.count + b.count})
			i++
			j++
		}
	}
	out = append(out, s.bins[i:]...)
	s.bins = append(out, o.bins[j:]...)
}

// Count is how many latencies were added.
func (s Sketch) Count() int {
	n := 0
	for _, b := range s.bins {
		n += int(b.count)
	}
	return n
}

// Quantile is the nearest-rank q-quantile (0 < q ≤ 1): the value of the
// bucket holding the ⌈q·n⌉-th smallest latency; 0 when s is empty.
func (s Sketch) Quantile(q float64) time.Duration {
	n := s.Count()
	if n == 0 {
		return 0
	}
	rank := max(int(math.Ceil(q*float64(n))), 1)
	seen := 0
	for _, b := range s.bins {
		seen += int(b.count)
		if seen >= rank {
			return valueOf(b.index)
		}
	}
	return valueOf(s.bins[len(s.bins)-1].index)
}

// bucketOf is the bucket index of d.
func bucketOf(d time.Duration) uint32 {
	us := max(int64(d/time.Microsecond), 0)
	if us < usBuckets {
		return uint32(us)
	}
	ms := us / 1000
	if ms < msTop {
		return usBuckets + uint32(ms-1)
	}
	ms = min(ms, 1<<40) // about 35 years: nothing waits that long
	shift := bits.Len64(uint64(ms)) - subBits - 1
	sub := ms >> shift // in [subBuckets, 2·subBuckets)
	return logStart + uint32(shift-(bits.Len64(msTop)-subBits-1))*subBuckets + uint32(sub-subBuckets)
}

// valueOf is the latency a bucket stands for: its lower bound in the
// exact ranges (what a display truncating to milliseconds shows), its
// middle above.
func valueOf(index uint32) time.Duration {
	switch {
	case index < usBuckets:
		return time.Duration(index) * time.Microsecond
	case index < logStart:
		return time.Duration(index-usBuckets+1) * time.Millisecond
	}
	k := index - logStart
	shift := int(k/subBuckets) + bits.Len64(msTop) - subBits - 1
	lower := (int64(k%subBuckets) + subBuckets) << shift
	return time.Duration(lower+(int64(1)<<shift)/2) * time.Millisecond
}

// AppendBinary appends s's encoding to b: the number of buckets, then
// each bucket's index (as the gap from the previous one) and count, all
// as unsigned varints.
func (s Sketch) AppendBinary(b []byte) ([]byte, error) {
	b = binary.AppendUvarint(b, uint64(len(s.bins)))
	prev := uint32(0)
	for _, x := range s.bins {
		b = binary.AppendUvarint(b, uint64(x.index-prev))
		b = binary.AppendUvarint(b, uint64(x.count))
		prev = x.index
	}
	return b, nil
}

// MarshalBinary encodes s (see AppendBinary).
func (s Sketch) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// errSketch is a malformed encoding.
var errSketch = errors.New("malformed latency sketch")

// UnmarshalBinary decodes what MarshalBinary encoded, replacing s.
func (s *Sketch) UnmarshalBinary(b []byte) error {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return errSketch
	}
	b = b[k:]
	bins := make([]bin, 0, n)
	prev := uint64(0)
	for i := range n {
		gap, k1 := binary.Uvarint(b)
		if k1 <= 0 {
			return errSketch
		}
		count, k2 := binary.Uvarint(b[k1:])
		if k2 <= 0 {
			return errSketch
		}
		b = b[k1+k2:]
		index := prev + gap
		if (i > 0 && gap == 0) || index > math.MaxUint32 || count == 0 || count > math.MaxUint32 {
			return errSketch
		}
		bins = append(bins, bin{uint32(index), uint32(count)})
		prev = index
	}
	if len(b) != 0 {
		return errSketch
	}
	s.bins = bins
	return nil
}
