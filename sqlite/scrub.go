package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"
)

// scrubDelay is how soon after people's words leave a table (an inbox item
// answered or dropped, a reply sent, a person forgotten, retention) the
// WAL is checkpointed and truncated. secure_delete overwrites what is
// deleted in the main file, but every earlier version of a changed page
// stays in the -wal file until a checkpoint resets it: a finished DM's
// words stay readable there, with a hex editor, while the bot runs. A
// checkpoint a few seconds after a burst of writes costs one fsync of the
// main file for the whole burst.
const scrubDelay = 2 * time.Second

// scrubTimeout bounds one checkpoint: TRUNCATE waits (busy_timeout) for
// readers of older snapshots to finish, and a failed one is tried again.
const scrubTimeout = 30 * time.Second

// journalSizeLimit is PRAGMA journal_size_limit: when SQLite starts the
// WAL over after a checkpoint (its own automatic ones included), the file
// is cut to the first new transaction rather than keeping older frames
// past it. The explicit TRUNCATE checkpoint empties it altogether.
const journalSizeLimit = 0

// scrubber runs a TRUNCATE checkpoint at most delay after it is asked to
// (soon): the first request arms a timer, later ones ride along with it,
// so a steady stream of messages gets one checkpoint per delay and none
// waits longer. It owns no goroutine between checkpoints.
type scrubber struct {
	db    *sql.DB
	delay time.Duration

	mu     sync.Mutex
	timer  *time.Timer // the armed checkpoint; nil when none
	closed bool
	wg     sync.WaitGroup // the armed or running checkpoint
	// done, when set, is told each checkpoint's outcome (tests).
	done func(error)
}

func newScrubber(db *sql.DB, delay time.Duration) *scrubber {
	return &scrubber{db: db, delay: delay}
}

// soon arms a checkpoint unless one is armed already.
func (s *scrubber) soon() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.timer != nil {
		return
	}
	s.wg.Add(1)
	s.timer = time.AfterFunc(s.delay, s.run)
}

func (s *scrubber) run() {
	defer s.wg.Done()
	s.mu.Lock()
	// From here on a new request arms a new checkpoint: this one may have
	// begun before that request's write.
	s.timer = nil
	closed, done := s.closed, s.done
	s.mu.Unlock()
	if closed {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), scrubTimeout)
	defer cancel()
	err := checkpoint(ctx, s.db)
	if err != nil {
		// A reader held an old snapshot past the timeout, or the disk
		// failed: try again after another delay.
		s.soon()
	}
	if done != nil {
		done(err)
	}
}

// stop disarms the armed checkpoint and waits for a running one; Close
// then does the last.
func (s *scrubber) stop() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.closed = true
	if s.timer != nil && s.timer.Stop() {
		s.timer = nil
		s.wg.Done()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

var errCheckpointBusy = errors.New("wal checkpoint: readers or writers kept it from completing")

// checkpoint copies every WAL frame into the main file and truncates the
// WAL to nothing.
func checkpoint(ctx context.Context, db *sql.DB) error {
	var busy, logFrames, done int
	if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done); err != nil {
		return err
	}
	if busy != 0 {
		return errCheckpointBusy
	}
	return nil
}
