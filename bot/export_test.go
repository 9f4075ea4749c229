package bot

// MaxBuckets exposes maxBuckets to the external tests.
const MaxBuckets = maxBuckets

// Buckets reports how many users a RateLimit handler remembers.
func Buckets(h Handler) int {
	l := h.(*limited).l.(*limiter)
	return l.users.Len()
}
