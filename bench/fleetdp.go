package main

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/model"
)

// simDP is one simulated data plane's applier: the real sync client
// (hello, status, heartbeats, verified fetch) feeds it, and it records what
// it applied instead of compiling a proxy, so thousands fit in one process.
type simDP struct {
	idx   int
	fleet *fleetSim
	// proxy, when set, compiles each configuration as a data plane does
	// (router, plugin chains, upstream pools), without its listeners.
	proxy *proxy.Server
	// rev is the running revision; hash its config hash.
	rev  atomic.Int64
	hash atomic.Pointer[string]
	// appliedAt is when the running revision was applied (fleet clock).
	appliedAt atomic.Int64
}

// Apply implements dpsync.Applier: it compiles the configuration when
// the fleet runs proxies, then records the revision (a revision
// not newer than the running one counts as a duplicate apply) and hashes
// the configuration, as a real data plane reports it.
func (d *simDP) Apply(ctx context.Context, cfg *model.Config, revision int64, source string) error {
	if d.proxy != nil {
		if err := d.proxy.Apply(ctx, cfg, revision, source); err != nil {
			return err
		}
	}
	h := d.fleet.decoder.hash(cfg)
	d.hash.Store(&h)
	d.appliedAt.Store(d.fleet.now())
	if prev := d.rev.Swap(revision); revision <= prev {
		d.fleet.dupApplies.Add(1)
	}
	d.fleet.applies.Add(1)
	if t := d.fleet.track.Load(); t != nil && revision >= t.rev {
		t.record(d.idx, d.appliedAt.Load())
	}
	return nil
}

// Current implements dpsync.Applier.
func (d *simDP) Current() (int64, string) {
	if h := d.hash.Load(); h != nil {
		return d.rev.Load(), *h
	}
	return d.rev.Load(), ""
}

// writeTrack follows one write until every data plane applied it.
type writeTrack struct {
	rev   int64
	start int64
	// at is, per data plane, the nanoseconds from start to its apply (0:
	// not yet).
	at   []atomic.Int64
	done atomic.Int64
	all  chan struct{}
}

func newWriteTrack(n int, start int64) *writeTrack {
	return &writeTrack{rev: 1<<63 - 1, start: start, at: make([]atomic.Int64, n), all: make(chan struct{})}
}

// record notes data plane i's apply at the fleet clock's t, once.
func (w *writeTrack) record(i int, t int64) {
	d := max(t-w.start, 1)
	if w.at[i].CompareAndSwap(0, d) && int(w.done.Add(1)) == len(w.at) {
		close(w.all)
	}
}

// countingTransport counts the data planes' HTTP requests: WebSocket
// upgrades accepted (with their time, for the accept rate) and refused,
// and snapshot downloads.
type countingTransport struct {
	base      http.RoundTripper
	fleet     *fleetSim
	upgrades  atomic.Int64
	refused   atomic.Int64
	downloads atomic.Int64
	bytes     atomic.Int64
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	switch {
	case resp.StatusCode == http.StatusSwitchingProtocols:
		c.upgrades.Add(1)
		c.fleet.accepts.note(time.Now())
	case req.Header.Get("Upgrade") != "":
		c.refused.Add(1)
	case req.Method == http.MethodGet:
		c.downloads.Add(1)
		if resp.ContentLength > 0 {
			c.bytes.Add(resp.ContentLength)
		}
	}
	return resp, nil
}

// rateMeter counts events per whole second since it was reset, to report
// the peak rate.
type rateMeter struct {
	since   atomic.Int64
	buckets [600]atomic.Int64
}

func (m *rateMeter) reset(t time.Time) {
	for i := range m.buckets {
		m.buckets[i].Store(0)
	}
	m.since.Store(t.UnixNano())
}

func (m *rateMeter) note(t time.Time) {
	s := (t.UnixNano() - m.since.Load()) / int64(time.Second)
	if s >= 0 && s < int64(len(m.buckets)) {
		m.buckets[s].Add(1)
	}
}

// peak is the largest count of any one second.
func (m *rateMeter) peak() int64 {
	var p int64
	for i := range m.buckets {
		p = max(p, m.buckets[i].Load())
	}
	return p
}
