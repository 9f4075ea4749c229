package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"gptaccess/bot"
	"gptaccess/delivery"
)

// Delivery runs the conformance suite of delivery.Store. open returns a
// fresh, empty store; when it is also a bot.Store (as the SQL stores
// are), Finish's conversation writes are checked through it.
func Delivery(t *testing.T, open func(t *testing.T) delivery.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s delivery.Store)
	}{
		{"PutDeduplicates", testPutDeduplicates},
		{"PutConcurrentlyAddsOnce", testPutConcurrent},
		{"NextInInLaneOrder", testNextInOrder},
		{"FinishAddsOutboxInOrder", testFinishOutbox},
		{"FinishIsOnce", testFinishOnce},
		{"FinishWritesConversations", testFinishConversations},
		{"FinishConflictChangesNothing", testFinishConflict},
		{"DropSkipsItem", testDrop},
		{"OutboxLifecycle", testOutboxLifecycle},
		{"EnqueueSkipsKnownKeys", testEnqueueKeys},
		{"LanesListPendingWork", testLanes},
		{"HeardTellsNewestAndRecentLanes", testHeard},
		{"PruneKeepsPending", testPrune},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}

// at is a fixed time with millisecond precision, which every store keeps.
var at = time.Date(2025, 3, 4, 5, 6, 7, 8_000_000, time.UTC)

func inbound(id, lane string, n int) delivery.Inbound {
	return delivery.Inbound{ID: "slack:" + id, Platform: bot.Slack, Lane: lane,
		Body: []byte(fmt.Sprintf(`{"n":%d,"bin":"\u0000\xff"}`, n)), Received: at.Add(time.Duration(n) * time.Millisecond)}
}

func outbound(key, lane, body string) delivery.Outbound {
	return delivery.Outbound{Key: key, Platform: bot.Slack, Lane: lane, Kind: delivery.KindReply, Body: []byte(body), Created: at}
}

func put(t *testing.T, s delivery.Store, in delivery.Inbound) {
	t.Helper()
	added, err := s.Put(context.Background(), in)
	if err != nil || !added {
		t.Fatalf("Put(%s) = %v, %v; want true, nil", in.ID, added, err)
	}
}

func nextIn(t *testing.T, s delivery.Store, l delivery.Lane) (delivery.Inbound, bool) {
	t.Helper()
	in, ok, err := s.NextIn(context.Background(), l)
	if err != nil {
		t.Fatalf("NextIn(%v): %v", l, err)
	}
	return in, ok
}

func nextOut(t *testing.T, s delivery.Store, l delivery.Lane) (delivery.Outbound, bool) {
	t.Helper()
	o, ok, err := s.NextOut(context.Background(), l)
	if err != nil {
		t.Fatalf("NextOut(%v): %v", l, err)
	}
	return o, ok
}

func finish(t *testing.T, s delivery.Store, id string, w delivery.Writes, out ...delivery.Outbound) {
	t.Helper()
	if err := s.Finish(context.Background(), id, w, out); err != nil {
		t.Fatalf("Finish(%s): %v", id, err)
	}
}

var laneA = delivery.Lane{Platform: bot.Slack, Name: "C1"}

func testPutDeduplicates(t *testing.T, s delivery.Store) {
	ctx := context.Background()
	in := inbound("ev1", "C1", 1)
	put(t, s, in)
	if added, err := s.Put(ctx, in); err != nil || added {
		t.Fatalf("second Put = %v, %v; want false: a retry must not be processed twice", added, err)
	}
	got, ok := nextIn(t, s, laneA)
	if !ok || got.ID != in.ID || string(got.Body) != string(in.Body) || !got.Received.Equal(in.Received) ||
		got.Platform != in.Platform || got.Lane != in.Lane {
		t.Fatalf("NextIn = %+v, %v; want %+v", got, ok, in)
	}
	finish(t, s, in.ID, delivery.Writes{})
	if added, _ := s.Put(ctx, in); added {
		t.Fatal("Put after Finish added the item again: a late retry would be answered twice")
	}
	in2 := inbound("ev2", "C1", 2)
	put(t, s, in2)
	if err := s.Drop(ctx, in2.ID); err != nil {
		t.Fatal(err)
	}
	if added, _ := s.Put(ctx, in2); added {
		t.Fatal("Put after Drop added the item again")
	}
}

func testPutConcurrent(t *testing.T, s delivery.Store) {
	const n = 8
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		added int
	)
	for range n {
		wg.Go(func() {
			ok, err := s.Put(context.Background(), inbound("same", "C1", 1))
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				added++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if added != 1 {
		t.Fatalf("%d of %d concurrent Puts of one id added it; want exactly 1", added, n)
	}
}

func testNextInOrder(t *testing.T, s delivery.Store) {
	// Received times out of order: the order is the order of Put.
	a1, b1, a2 := inbound("a1", "C1", 5), inbound("b1", "C2", 1), inbound("a2", "C1", 0)
	other := inbound("a3", "C1", 2)
	other.ID, other.Platform = "discord:a3", bot.Discord
	for _, in := range []delivery.Inbound{a1, b1, other, a2} {
		put(t, s, in)
	}
	var got []string
	for {
		in, ok := nextIn(t, s, laneA)
		if !ok {
			break
		}
		got = append(got, in.ID)
		finish(t, s, in.ID, delivery.Writes{})
	}
	if want := []string{a1.ID, a2.ID}; !slices.Equal(got, want) {
		t.Fatalf("lane C1 gave %v; want %v (its own items, in the order they came)", got, want)
	}
	if in, ok := nextIn(t, s, delivery.Lane{Platform: bot.Slack, Name: "C2"}); !ok || in.ID != b1.ID {
		t.Fatalf("lane C2 gave %v, %v; want %s", in.ID, ok, b1.ID)
	}
	if in, ok := nextIn(t, s, delivery.Lane{Platform: bot.Discord, Name: "C1"}); !ok || in.ID != other.ID {
		t.Fatalf("discord lane C1 gave %v, %v; want %s (lanes are per platform)", in.ID, ok, other.ID)
	}
}

func testFinishOutbox(t *testing.T, s delivery.Store) {
	in := inbound("ev1", "C1", 1)
	put(t, s, in)
	finish(t, s, in.ID, delivery.Writes{},
		outbound("ev1#0", "C1", "first"), outbound("ev1#1", "C9", "support"), outbound("ev1#2", "C1", "second"))
	if _, ok := nextIn(t, s, laneA); ok {
		t.Fatal("the finished item is still pending")
	}
	var bodies []string
	var seqs []int64
	for {
		o, ok := nextOut(t, s, laneA)
		if !ok {
			break
		}
		if o.Kind != delivery.KindReply || o.Platform != bot.Slack || !o.Created.Equal(at) {
			t.Errorf("outbox item %+v lost its fields", o)
		}
		bodies = append(bodies, string(o.Body))
		seqs = append(seqs, o.Seq)
		if err := s.Sent(context.Background(), o.Seq, "ts"+string(o.Body)); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(bodies, []string{"first", "second"}) || !slices.IsSorted(seqs) || seqs[0] == seqs[1] {
		t.Fatalf("lane C1 sent %v (seqs %v); want first, second in rising order", bodies, seqs)
	}
	if o, ok := nextOut(t, s, delivery.Lane{Platform: bot.Slack, Name: "C9"}); !ok || string(o.Body) != "support" {
		t.Fatalf("lane C9 = %q, %v; want the support post", o.Body, ok)
	}
}

func testFinishOnce(t *testing.T, s delivery.Store) {
	in := inbound("ev1", "C1", 1)
	put(t, s, in)
	finish(t, s, in.ID, delivery.Writes{}, outbound("ev1#0", "C1", "reply"))
	err := s.Finish(context.Background(), in.ID, delivery.Writes{}, []delivery.Outbound{outbound("ev1#0b", "C1", "again")})
	if !errors.Is(err, delivery.ErrNotPending) {
		t.Fatalf("second Finish = %v; want ErrNotPending", err)
	}
	if err := s.Finish(context.Background(), "slack:never", delivery.Writes{}, nil); !errors.Is(err, delivery.ErrNotPending) {
		t.Fatalf("Finish of an unknown item = %v; want ErrNotPending", err)
	}
	o, _ := nextOut(t, s, laneA)
	_ = s.Sent(context.Background(), o.Seq, "")
	if o, ok := nextOut(t, s, laneA); ok {
		t.Fatalf("outbox holds %q from a refused Finish", o.Body)
	}
}

func conversations(t *testing.T, s delivery.Store) bot.Store {
	t.Helper()
	bs, ok := s.(bot.Store)
	if !ok {
		t.Skip("the store keeps no conversations (not a bot.Store)")
	}
	return bs
}

func testFinishConversations(t *testing.T, s delivery.Store) {
	bs := conversations(t, s)
	ctx := context.Background()
	in := inbound("ev1", "C1", 1)
	put(t, s, in)
	old := bot.Conversation{Key: "slack:C1:1.2:U1", ID: "old", Facts: map[string]string{}}
	if err := bs.SaveConversation(ctx, &old); err != nil {
		t.Fatal(err)
	}
	w := delivery.Writes{
		Delete: []delivery.Deletion{{Key: old.Key, Version: old.Version}},
		Save: []bot.Conversation{
			{Key: old.Key, ID: "new", Facts: map[string]string{"vpn": "yes"}, User: "slack:U1"},
			{Key: "slack:C1:3.4:U2", ID: "other", Facts: map[string]string{}},
		},
		Outcomes:   []bot.Outcome{{Key: "old", Platform: bot.Slack, Cause: "vpn-proxy", Resolved: "yes", At: at}},
		Unanswered: []bot.Unmatched{{Platform: bot.Slack, User: "U1", Text: "hm", At: at}},
	}
	finish(t, s, in.ID, w, outbound("ev1#0", "C1", "reply"))
	c, ok, err := bs.Conversation(ctx, old.Key)
	if err != nil || !ok || c.ID != "new" || c.Facts["vpn"] != "yes" || c.Version != 1 {
		t.Fatalf("conversation after Finish = %+v, %v, %v; want the new one at version 1", c, ok, err)
	}
	// The next turn saves from version 1.
	in2 := inbound("ev2", "C1", 2)
	put(t, s, in2)
	c.Facts["private_window"] = "no"
	finish(t, s, in2.ID, delivery.Writes{Save: []bot.Conversation{c}})
	if c2, _, _ := bs.Conversation(ctx, old.Key); c2.Version != 2 || c2.Facts["private_window"] != "no" {
		t.Fatalf("conversation after the second turn = %+v; want version 2 with the new fact", c2)
	}
}

func testFinishConflict(t *testing.T, s delivery.Store) {
	bs := conversations(t, s)
	ctx := context.Background()
	c := bot.Conversation{Key: "slack:C1:1.2:U1", ID: "c", Facts: map[string]string{}}
	if err := bs.SaveConversation(ctx, &c); err != nil {
		t.Fatal(err)
	}
	stale := c
	stale.Version = 0 // read before it existed: a concurrent start
	in := inbound("ev1", "C1", 1)
	put(t, s, in)
	err := s.Finish(ctx, in.ID, delivery.Writes{Save: []bot.Conversation{
		{Key: "slack:C1:9.9:U1", ID: "fine", Facts: map[string]string{}}, stale,
	}}, []delivery.Outbound{outbound("ev1#0", "C1", "reply")})
	if !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("Finish with a stale version = %v; want bot.ErrConflict", err)
	}
	if _, ok := nextIn(t, s, laneA); !ok {
		t.Fatal("a conflicting Finish marked the item done")
	}
	if o, ok := nextOut(t, s, laneA); ok {
		t.Fatalf("a conflicting Finish added %q to the outbox", o.Body)
	}
	if _, ok, _ := bs.Conversation(ctx, "slack:C1:9.9:U1"); ok {
		t.Fatal("a conflicting Finish saved part of its writes")
	}
	// Retried from the stored version, it goes through.
	got, _, _ := bs.Conversation(ctx, c.Key)
	finish(t, s, in.ID, delivery.Writes{Save: []bot.Conversation{got}}, outbound("ev1#0", "C1", "reply"))
}

func testDrop(t *testing.T, s delivery.Store) {
	a, b := inbound("a", "C1", 1), inbound("b", "C1", 2)
	put(t, s, a)
	put(t, s, b)
	if err := s.Drop(context.Background(), a.ID); err != nil {
		t.Fatal(err)
	}
	if in, ok := nextIn(t, s, laneA); !ok || in.ID != b.ID {
		t.Fatalf("NextIn after Drop = %s, %v; want %s", in.ID, ok, b.ID)
	}
	if err := s.Finish(context.Background(), a.ID, delivery.Writes{}, nil); !errors.Is(err, delivery.ErrNotPending) {
		t.Fatalf("Finish of a dropped item = %v; want ErrNotPending", err)
	}
}

func testOutboxLifecycle(t *testing.T, s delivery.Store) {
	ctx := context.Background()
	if err := s.Enqueue(ctx, []delivery.Outbound{
		outbound("n1", "C1", "one"), outbound("n2", "C1", "two"), outbound("n3", "C1", "three"),
	}); err != nil {
		t.Fatal(err)
	}
	o, _ := nextOut(t, s, laneA)
	if string(o.Body) != "one" || o.Attempts != 0 || o.RateLimited != 0 || !o.NotBefore.IsZero() {
		t.Fatalf("first item = %+v; want one, untried", o)
	}
	later := at.Add(1500 * time.Millisecond)
	if err := s.Retry(ctx, o.Seq, 2, 3, later); err != nil {
		t.Fatal(err)
	}
	o, _ = nextOut(t, s, laneA)
	if string(o.Body) != "one" || o.Attempts != 2 || o.RateLimited != 3 || !o.NotBefore.Equal(later) {
		t.Fatalf("after Retry = %+v; want one with 2 failures and 3 rate limits kept apart, not before %v (the lane waits for it)", o, later)
	}
	if err := s.Sent(ctx, o.Seq, "1700.1"); err != nil {
		t.Fatal(err)
	}
	if st, ref, err := s.Lookup(ctx, "n1"); err != nil || st != delivery.Sent || ref != "1700.1" {
		t.Fatalf("Lookup(n1) = %q, %q, %v; want sent, 1700.1", st, ref, err)
	}
	o, _ = nextOut(t, s, laneA)
	if string(o.Body) != "two" {
		t.Fatalf("after Sent, next = %q; want two", o.Body)
	}
	if st, ref, _ := s.Lookup(ctx, "n2"); st != delivery.Pending || ref != "" {
		t.Fatalf("Lookup of a pending item = %q, %q; want pending", st, ref)
	}
	if st, _, _ := s.Lookup(ctx, "nothing"); st != "" {
		t.Fatalf("Lookup of an unknown key = %q; want \"\"", st)
	}
	if err := s.Failed(ctx, o.Seq, "channel_not_found"); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := s.Lookup(ctx, "n2"); st != delivery.Failed {
		t.Fatalf("Lookup of a failed item = %q; want failed", st)
	}
	// Recording twice changes nothing: a failure is recorded once.
	if err := s.Sent(ctx, o.Seq, "late"); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := s.Lookup(ctx, "n2"); st != delivery.Failed {
		t.Fatal("Sent after Failed turned the failure into a success")
	}
	o, _ = nextOut(t, s, laneA)
	if string(o.Body) != "three" {
		t.Fatalf("after Failed, next = %q; want three", o.Body)
	}
	withParent := outbound("n4", "C1", "four")
	withParent.Parent = "n1"
	if err := s.Enqueue(ctx, []delivery.Outbound{withParent}); err != nil {
		t.Fatal(err)
	}
	_ = s.Sent(ctx, o.Seq, "")
	o, _ = nextOut(t, s, laneA)
	if o.Parent != "n1" {
		t.Fatalf("Parent = %q; want n1", o.Parent)
	}
}

func testEnqueueKeys(t *testing.T, s delivery.Store) {
	ctx := context.Background()
	if err := s.Enqueue(ctx, []delivery.Outbound{outbound("alert:1", "C1", "down")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, []delivery.Outbound{outbound("alert:1", "C1", "down again"), outbound("alert:2", "C1", "up")}); err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for {
		o, ok := nextOut(t, s, laneA)
		if !ok {
			break
		}
		bodies = append(bodies, string(o.Body))
		_ = s.Sent(ctx, o.Seq, "")
	}
	if !slices.Equal(bodies, []string{"down", "up"}) {
		t.Fatalf("sent %v; want [down up]: a key is enqueued once", bodies)
	}
	// Even once sent, the key stays known.
	_ = s.Enqueue(ctx, []delivery.Outbound{outbound("alert:1", "C1", "down a third time")})
	if o, ok := nextOut(t, s, laneA); ok {
		t.Fatalf("a sent key was enqueued again: %q", o.Body)
	}
}

func testLanes(t *testing.T, s delivery.Store) {
	ctx := context.Background()
	put(t, s, inbound("a", "C1", 1))
	put(t, s, inbound("b", "C2", 2))
	finish(t, s, "slack:b", delivery.Writes{}, outbound("b#0", "C3", "x"))
	in, out, err := s.Lanes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(in, []delivery.Lane{laneA}) {
		t.Errorf("inbox lanes = %v; want only C1 (C2's item is done)", in)
	}
	if !slices.Equal(out, []delivery.Lane{{Platform: bot.Slack, Name: "C3"}}) {
		t.Errorf("outbox lanes = %v; want C3", out)
	}
}

func testHeard(t *testing.T, s delivery.Store) {
	ctx := context.Background()
	const msg = "discord:msg:"
	if newest, lanes, err := s.Heard(ctx, bot.Discord, msg, time.Time{}); err != nil || !newest.IsZero() || len(lanes) != 0 {
		t.Fatalf("Heard on an empty inbox = %v, %v, %v; want the zero time and no lanes", newest, lanes, err)
	}
	item := func(id, platform, lane string, ms int) delivery.Inbound {
		return delivery.Inbound{ID: id, Platform: platform, Lane: lane, Body: []byte("{}"),
			Received: at.Add(time.Duration(ms) * time.Millisecond)}
	}
	// Put in an order unlike their times: the newest is neither the
	// first nor the last item added.
	for _, in := range []delivery.Inbound{
		item(msg+"1", bot.Discord, "C1", 1000), // exactly since: counts
		item(msg+"2", bot.Discord, "D1", 5000), // the newest message
		item(msg+"3", bot.Discord, "C2", 3000),
		item(msg+"4", bot.Discord, "C1", 4000), // C1's latest: C1 comes before C2
		item(msg+"5", bot.Discord, "C3", 999),  // before since
		item("discord:interaction:6", bot.Discord, "C4", 9000),
		item(msg+"7", bot.Slack, "C5", 9500), // another platform's item
	} {
		put(t, s, in)
	}
	// Done and dropped items were heard all the same.
	finish(t, s, msg+"2", delivery.Writes{})
	if err := s.Drop(ctx, msg+"3"); err != nil {
		t.Fatal(err)
	}

	newest, lanes, err := s.Heard(ctx, bot.Discord, msg, at.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if want := at.Add(5 * time.Second); !newest.Equal(want) {
		t.Errorf("newest = %v; want %v (message 2: not another prefix's, another platform's, or the last added)", newest, want)
	}
	if want := []string{"D1", "C1", "C2"}; !slices.Equal(lanes, want) {
		t.Errorf("lanes = %v; want %v (heard since, latest first)", lanes, want)
	}

	newest, lanes, err = s.Heard(ctx, bot.Discord, "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if want := at.Add(9 * time.Second); !newest.Equal(want) {
		t.Errorf("with no prefix, newest = %v; want %v (the interaction)", newest, want)
	}
	if want := []string{"C4", "D1", "C1", "C2", "C3"}; !slices.Equal(lanes, want) {
		t.Errorf("with no prefix and no since, lanes = %v; want %v", lanes, want)
	}
}

func testPrune(t *testing.T, s delivery.Store) {
	ctx := context.Background()
	old, pending := inbound("old", "C1", 1), inbound("pending", "C1", 2)
	put(t, s, old)
	put(t, s, pending)
	finish(t, s, old.ID, delivery.Writes{}, outbound("old#0", "C2", "sent"), outbound("old#1", "C2", "waiting"))
	o, _ := nextOut(t, s, delivery.Lane{Platform: bot.Slack, Name: "C2"})
	_ = s.Sent(ctx, o.Seq, "")
	n, err := s.Prune(ctx, at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("Prune removed %d items; want 2 (the done inbox item and the sent outbox item)", n)
	}
	if in, ok := nextIn(t, s, laneA); !ok || in.ID != pending.ID {
		t.Fatalf("Prune removed a pending inbox item")
	}
	if o, ok := nextOut(t, s, delivery.Lane{Platform: bot.Slack, Name: "C2"}); !ok || string(o.Body) != "waiting" {
		t.Fatalf("Prune removed a pending outbox item")
	}
}
