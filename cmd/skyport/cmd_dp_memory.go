package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	dpsync "github.com/skyport-gw/skyport/dataplane/sync"
	"github.com/skyport-gw/skyport/internal/model"
)

// releaseDelay is how long after an apply its garbage is handed back to
// the operating system: by then the fetch, decode and compile buffers
// are unreferenced, and a burst of applies pays for one release.
const releaseDelay = 2 * time.Second

// releasingProxy is the proxy whose applies are followed by a release of
// the memory they freed. An apply holds the document, the decoded
// configuration and the old and new compiled ones at once, several times
// the running configuration; Go returns such a peak to the system only
// slowly, so a data plane with a million entities would keep gigabytes
// resident that it no longer uses.
type releasingProxy struct {
	*proxy.Server
	// release hands the freed memory back, delay after the last apply;
	// nil and 0 are releaseMemory and releaseDelay.
	release func()
	delay   time.Duration
	mu      sync.Mutex
	timer   *time.Timer
}

var _ dpsync.HashedApplier = (*releasingProxy)(nil)

// Apply implements applier.
func (p *releasingProxy) Apply(ctx context.Context, cfg *model.Config, revision int64, source string) error {
	err := p.Server.Apply(ctx, cfg, revision, source)
	p.released()
	return err
}

// ApplyHashed implements dpsync.HashedApplier.
func (p *releasingProxy) ApplyHashed(ctx context.Context, cfg *model.Config, hash string, revision int64, source string) error {
	err := p.Server.ApplyHashed(ctx, cfg, hash, revision, source)
	p.released()
	return err
}

// released schedules the release of what an apply freed.
func (p *releasingProxy) released() {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.delay
	if d == 0 {
		d = releaseDelay
	}
	if p.timer == nil {
		p.timer = time.AfterFunc(d, p.releaseFunc())
	} else {
		p.timer.Reset(d)
	}
}

// releaseNow releases at once what the applies so far freed, and cancels
// the pending release: for the declarative load, applied before any
// listener opens, whose release 2 s later would run its two collections
// and the scavenge during the first seconds of traffic (on one core they
// held every request then in flight for tens of milliseconds: BENCHMARKS.md,
// "p99: where the tail comes from").
func (p *releasingProxy) releaseNow() {
	p.stopRelease()
	p.releaseFunc()()
}

func (p *releasingProxy) releaseFunc() func() {
	if p.release != nil {
		return p.release
	}
	return releaseMemory
}

// stopRelease stops a pending release.
func (p *releasingProxy) stopRelease() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.timer != nil {
		p.timer.Stop()
	}
}

// releaseMemory collects twice, then returns every free page to the
// system. The first collection moves what sync.Pools hold to their
// victim caches and the second drops it: encoding/json pools its encode
// buffers, and hashing a configuration leaves one as large as the
// configuration's JSON there, which an idle data plane, allocating
// nothing, would otherwise keep for good.
func releaseMemory() {
	runtime.GC()
	debug.FreeOSMemory()
}
