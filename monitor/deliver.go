package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"gptaccess/delivery"
)

// queueSize bounds the notices waiting for one channel; more are dropped
// (and logged) rather than ever blocking a check.
const queueSize = 32

// sendTimeout bounds one Notify call.
const sendTimeout = 30 * time.Second

// drainTimeout bounds delivering what is still queued when the monitor
// stops: a shutdown right after an incident opened must not lose its alert.
const drainTimeout = 5 * time.Second

// queueKey names one delivery queue: a notifier (by index, since a
// Notifier need not be comparable) and a channel.
type queueKey struct {
	notifier int
	channel  string
}

// deliver saves states and incidents (the alert state) and hands over
// the notices it made, to every channel that gets alerts: the configured
// ones and those subscribed at run time. For an Outboxer each notice is
// an outbox item committed in the same transaction as the state, so a
// crash loses neither nor sends a notice twice; the Notifiers (the
// terminal) get them after the commit, through queues. An error is the
// store's, in saving the state or in listing the subscribed channels:
// then nothing was saved and nothing is sent, and the next check, which
// reads the state again, decides again.
func (m *Monitor) deliver(ctx context.Context, states []TargetState, incidents []Incident, notices []Notice) error {
	for i := range notices {
		if notices[i].ID == "" {
			notices[i].ID = strconv.FormatInt(m.now().UnixNano(), 36) + "-" + strconv.FormatUint(m.noticeSeq.Add(1), 36)
		}
	}
	m.outMu.Lock()
	notifiers, outboxers := slices.Clone(m.notifiers), slices.Clone(m.outboxers)
	m.outMu.Unlock()
	var chans map[string][]string
	if len(notices) > 0 {
		var err error
		if chans, err = m.alertChannels(ctx, notifiers, outboxers); err != nil {
			return err
		}
	}
	var items []delivery.Outbound
	for _, ob := range outboxers {
		p := ob.Platform()
		for _, ch := range chans[p] {
			for _, nt := range notices {
				nt.Thread = m.thread(ctx, p, ch, nt)
				it, err := ob.NoticeItem(ch, nt)
				if err != nil {
					m.log.Error("notice not sent: cannot render it", "platform", p, "channel", ch, "incident", nt.Incident, "err", err)
					continue
				}
				it.Kind, it.Created = delivery.KindNotice, m.now()
				items = append(items, it)
			}
		}
	}
	if len(states) > 0 || len(incidents) > 0 || len(items) > 0 {
		if err := m.store.SaveAlertState(ctx, states, incidents, items...); err != nil {
			return err
		}
	}
	for _, ob := range outboxers {
		ob.box.Committed(slices.DeleteFunc(slices.Clone(items), func(it delivery.Outbound) bool { return it.Platform != ob.Platform() }))
	}
	m.enqueue(ctx, notifiers, chans, notices)
	return nil
}

// alertChannels lists the alert channels of every platform. Listing the
// subscribed ones can fail: then the notices must not be saved without
// them, or those channels would never get them.
func (m *Monitor) alertChannels(ctx context.Context, notifiers []Notifier, outboxers []outboxer) (map[string][]string, error) {
	out := map[string][]string{}
	var platforms []string
	for _, n := range notifiers {
		platforms = append(platforms, n.Platform())
	}
	for _, ob := range outboxers {
		platforms = append(platforms, ob.Platform())
	}
	for _, p := range platforms {
		if _, ok := out[p]; ok {
			continue
		}
		chans, err := m.channelsFor(ctx, p)
		if err != nil {
			return nil, err
		}
		out[p] = chans
	}
	return out, nil
}

// thread is the ref of incident's opening notice in channel, for a later
// notice of it ("" for an opening notice or a digest, or when it is not
// known yet: the outbox item's Parent then finds it when it is sent).
func (m *Monitor) thread(ctx context.Context, platform, channel string, nt Notice) string {
	if nt.Incident == "" || nt.Phase == PhaseOpened {
		return ""
	}
	ref, err := m.store.NoticeRef(ctx, nt.Incident, platform, channel)
	if err != nil {
		m.log.Warn("reading the thread of the incident; the outbox finds it", "platform", platform, "channel", channel, "incident", nt.Incident, "err", err)
		return ""
	}
	return ref
}

// enqueue hands notices to the queue of every channel (in chans, by
// platform) of the Notifiers. Each channel has its own goroutine, so a
// slow or failing channel delays no other, and notices to one channel
// keep their order, which threading relies on.
func (m *Monitor) enqueue(ctx context.Context, notifiers []Notifier, chans map[string][]string, notices []Notice) {
	for i, n := range notifiers {
		for _, ch := range chans[n.Platform()] {
			q := m.queue(ctx, queueKey{i, ch})
			for _, nt := range notices {
				select {
				case q <- nt:
				default:
					m.log.Error("notice dropped: delivery queue full", "platform", n.Platform(), "channel", ch, "incident", nt.Incident)
				}
			}
		}
	}
}

// channelsFor lists the alert channels of platform, configured first.
func (m *Monitor) channelsFor(ctx context.Context, platform string) ([]string, error) {
	chans := slices.Clone(m.channels[platform])
	if m.subs != nil {
		subs, err := m.subs.Subscribers(ctx, platform)
		if err != nil {
			return nil, fmt.Errorf("listing the channels subscribed to alerts on %s: %w", platform, err)
		}
		chans = append(chans, subs...)
	}
	var out []string
	for _, c := range chans {
		if c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// queue returns the queue for k, starting its goroutine on first use. The
// goroutine ends with ctx; Run waits for it.
func (m *Monitor) queue(ctx context.Context, k queueKey) chan<- Notice {
	m.outMu.Lock()
	defer m.outMu.Unlock()
	if q, ok := m.queues[k]; ok {
		return q
	}
	q := make(chan Notice, queueSize)
	m.queues[k] = q
	n := m.notifiers[k.notifier]
	m.workers.Add(1)
	go func() {
		defer m.workers.Done()
		for {
			select {
			case <-ctx.Done():
				m.drain(ctx, q, n, k.channel)
				return
			case nt := <-q:
				m.send(ctx, n, k.channel, nt)
			}
		}
	}()
	return q
}

// drain sends what is left in q once the monitor is stopping, within
// drainTimeout.
func (m *Monitor) drain(ctx context.Context, q <-chan Notice, n Notifier, channel string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
	defer cancel()
	for {
		select {
		case nt := <-q:
			m.send(dctx, n, channel, nt)
		default:
			return
		}
	}
}

// send delivers one notice to a Notifier (the terminal) with one Notify
// call, not retried: the platforms that can fail for a while post
// through an outbox, which retries. Later notices of an incident are
// threaded under its opening notice in the same channel.
func (m *Monitor) send(ctx context.Context, n Notifier, channel string, nt Notice) {
	platform := n.Platform()
	log := m.log.With("platform", platform, "channel", channel, "incident", nt.Incident, "phase", nt.Phase)
	if nt.Incident != "" && nt.Phase != PhaseOpened {
		ref, err := m.store.NoticeRef(ctx, nt.Incident, platform, channel)
		if err != nil {
			log.Warn("reading the thread of the incident; posting unthreaded", "err", err)
		}
		nt.Thread = ref
	}
	// A send in flight finishes even when shutdown begins: cut off
	// halfway, the post may exist without its reference being saved.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
	ref, err := n.Notify(sctx, channel, nt)
	cancel()
	switch {
	case errors.Is(err, ErrPermanent):
		log.Error("notice not sent: the channel cannot take it", "err", err)
		return
	case err != nil:
		log.Error("notice not sent", "err", err)
		return
	}
	log.Info("notice sent")
	if nt.Phase == PhaseOpened && nt.Incident != "" && ref != "" {
		// Saved even when shutdown began meanwhile: the message was
		// posted, and without its ref the recovery would not be threaded
		// after a restart.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
		err := m.store.SaveNoticeRef(sctx, nt.Incident, platform, channel, ref)
		cancel()
		if err != nil {
			log.Error("saving the notice reference; updates will not be threaded", "err", err)
		}
	}
}
