package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/google/pprof/profile"
)

// maxProfileBytes bounds a CPU profile read from a proxy's
// /debug/pprof/profile: a few seconds of one compress to tens of KB.
const maxProfileBytes = 8 << 20

// fetchProfile reads the profile that url serves, at most limit bytes,
// and parses it.
func fetchProfile(ctx context.Context, client *http.Client, url string, limit int64) (*profile.Profile, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetching the profile: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the profile: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading the profile from %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the profile from %s: %s: %.200s", url, resp.Status, data)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("the profile from %s is larger than %d bytes", url, limit)
	}
	p, err := profile.ParseData(data)
	if err != nil {
		return nil, fmt.Errorf("parsing the profile from %s: %w", url, err)
	}
	return p, nil
}

// A profileBucket is where a CPU sample's time goes. Each sample counts
// for exactly one bucket (its flat share; the shares add up to the
// whole): the first stack bucket, in profileBuckets' order, that has a
// frame anywhere on the sample's stack, else the owner bucket of the
// innermost frame that has one, with the runtime, net and library code
// that frame called, else "other". A bucket's cum share counts every
// sample with one of its frames anywhere.
type profileBucket struct {
	name string
	// stack: decided by any frame of the stack; otherwise by the
	// innermost frame that belongs to an owner bucket.
	stack bool
	match func(fn string) bool
}

// Bucket names, as the report prints them.
const (
	bucketSyscalls  = "system calls"
	bucketTLS       = "TLS (crypto/…)"
	bucketScheduler = "runtime scheduler"
	bucketGC        = "GC and allocation"
	bucketH1        = "h1 parsing and writing"
	bucketLoop      = "event loop (dataplane/loop)"
	bucketProxy     = "proxy native path"
	bucketRouter    = "router"
	bucketPlugins   = "plugins"
	bucketStatus    = "status, metrics and log"
	bucketOther     = "other"
)

// skyportPkg is the module's import path prefix, which the report leaves
// out of function names.
const skyportPkg = "github.com/skyport-gw/skyport/"

// profileBuckets in priority order: the stack buckets first (a system
// call made under the scheduler, as netpoll's epoll_wait, is the
// scheduler's; an allocation made in a system call's preparation is
// GC's), then the owner buckets, each frame tested against all of them in
// this order (status before proxy: the access log and metrics code of
// dataplane/proxy is the status bucket's).
var profileBuckets = []profileBucket{
	{bucketGC, true, anyPrefix(gcFuncs...)},
	{bucketScheduler, true, anyOf(schedulerFuncs...)},
	{bucketSyscalls, true, anyPrefix("syscall.", "internal/runtime/syscall.", "internal/runtime/syscall/", "golang.org/x/sys/unix.",
		skyportPkg+"dataplane/loop.rawRead", skyportPkg+"dataplane/loop.rawWrite", skyportPkg+"dataplane/loop.pollNow")},
	{bucketTLS, true, anyPrefix("crypto/", "vendor/golang.org/x/crypto/", "golang.org/x/crypto/")},
	{bucketStatus, false, func(fn string) bool {
		return anyPrefix(skyportPkg+"dataplane/status.", "github.com/prometheus/", "go.uber.org/zap")(fn) || anyOf(proxyStatusFuncs...)(fn)
	}},
	{bucketH1, false, anyPrefix(skyportPkg + "dataplane/h1.")},
	{bucketLoop, false, anyPrefix(skyportPkg + "dataplane/loop.")},
	{bucketRouter, false, anyPrefix(skyportPkg + "dataplane/router.")},
	{bucketPlugins, false, anyPrefix(skyportPkg+"dataplane/plugin.", skyportPkg+"dataplane/plugins/")},
	// The floor (`bench h1proxy`) has its handler in this command's
	// package main: its proxy path.
	{bucketProxy, false, anyPrefix(skyportPkg+"dataplane/proxy.", skyportPkg+"dataplane/upstream.", skyportPkg+"dataplane/exchange.", "main.")},
}

// gcFuncs are the garbage collector's and the allocator's functions, by
// prefix.
var gcFuncs = []string{
	"runtime.mallocgc", "runtime.gc", "runtime.scan", "runtime.markroot", "runtime.greyobject", "runtime.bgsweep",
	"runtime.bgscavenge", "runtime.sweepone", "runtime.wbBuf", "runtime.newobject", "runtime.makeslice", "runtime.growslice",
	"runtime.newarray", "runtime.(*mheap)", "runtime.(*mspan)", "runtime.(*mcache)", "runtime.(*mcentral)", "runtime.(*gcWork)",
	"runtime.(*sweepLocked)", "runtime.findObject", "runtime.(*gcControllerState)",
}

// schedulerFuncs are the Go scheduler's functions: finding and parking
// goroutines, the netpoller's wait and the futexes that wake threads.
var schedulerFuncs = []string{
	"runtime.schedule", "runtime.findRunnable", "runtime.park_m", "runtime.gopark", "runtime.goready", "runtime.ready",
	"runtime.netpoll", "runtime.futex", "runtime.futexsleep", "runtime.futexwakeup", "runtime.notesleep", "runtime.notetsleepg",
	"runtime.notewakeup", "runtime.wakep", "runtime.startm", "runtime.stopm", "runtime.mPark", "runtime.handoffp",
	"runtime.stealWork", "runtime.runqgrab", "runtime.goschedImpl", "runtime.gosched_m", "runtime.goexit0",
	"runtime.checkTimers", "runtime.resetspinning", "runtime.sysmon",
}

// proxyStatusFuncs are dataplane/proxy's metrics and access-log
// functions (log.go, logwriter.go, logtime.go).
var proxyStatusFuncs = []string{
	skyportPkg + "dataplane/proxy.(*Server).finish", skyportPkg + "dataplane/proxy.(*Server).observe",
	skyportPkg + "dataplane/proxy.(*Server).series", skyportPkg + "dataplane/proxy.(*Server).logEntry",
	skyportPkg + "dataplane/proxy.(*Server).writeAccessLine", skyportPkg + "dataplane/proxy.(*LogWriter).Write",
	skyportPkg + "dataplane/proxy.(*LogWriter).run", skyportPkg + "dataplane/proxy.(*lineTime).appendTime",
	skyportPkg + "dataplane/proxy.appendFraction", skyportPkg + "dataplane/proxy.newSecondText",
}

func anyPrefix(prefixes ...string) func(string) bool {
	return func(fn string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(fn, p) {
				return true
			}
		}
		return false
	}
}

func anyOf(names ...string) func(string) bool {
	return func(fn string) bool { return slices.Contains(names, fn) }
}

// bucketShare is one bucket's CPU in a profile: flat counts the samples
// it owns, cum every sample with one of its frames.
type bucketShare struct {
	name      string
	flat, cum int64
}

// funcShare is one function's CPU in a profile: flat where it is the
// innermost frame, cum where it is on the stack.
type funcShare struct {
	name      string
	flat, cum int64
}

// profileSummary is a CPU profile classified: the value of every bucket
// (profileBuckets' order, then "other") and the functions by flat value,
// largest first.
type profileSummary struct {
	// samples is the number of samples (not of records: a record counts
	// the samples of one stack).
	samples int64
	// total is the profile's CPU time in its unit (nanoseconds).
	total   int64
	buckets []bucketShare
	funcs   []funcShare
}

// share is part's share of the summary's total.
func (s profileSummary) share(part int64) float64 {
	if s.total <= 0 {
		return 0
	}
	return float64(part) / float64(s.total)
}

// bucket is the named bucket's value.
func (s profileSummary) bucket(name string) bucketShare {
	for _, b := range s.buckets {
		if b.name == name {
			return b
		}
	}
	return bucketShare{name: name}
}

// summarize classifies a CPU profile's samples into profileBuckets.
func summarize(p *profile.Profile) profileSummary {
	vi, ci := cpuValueIndex(p), countValueIndex(p)
	s := profileSummary{buckets: make([]bucketShare, len(profileBuckets)+1)}
	for i, b := range profileBuckets {
		s.buckets[i].name = b.name
	}
	s.buckets[len(profileBuckets)].name = bucketOther
	funcs := map[string]*funcShare{}
	for _, smp := range p.Sample {
		if vi >= len(smp.Value) {
			continue
		}
		v := smp.Value[vi]
		// Go's profiles hold one record per stack, with its count.
		if ci >= 0 && ci < len(smp.Value) {
			s.samples += smp.Value[ci]
		} else {
			s.samples++
		}
		s.total += v
		frames := sampleFrames(smp)
		s.buckets[classify(frames)].flat += v
		for i, b := range profileBuckets {
			if slices.ContainsFunc(frames, b.match) {
				s.buckets[i].cum += v
			}
		}
		seen := map[string]bool{}
		for i, fn := range frames {
			f := funcs[fn]
			if f == nil {
				f = &funcShare{name: fn}
				funcs[fn] = f
			}
			if i == 0 {
				f.flat += v
			}
			if !seen[fn] {
				seen[fn] = true
				f.cum += v
			}
		}
	}
	s.buckets[len(profileBuckets)].cum = s.buckets[len(profileBuckets)].flat
	for _, f := range funcs {
		s.funcs = append(s.funcs, *f)
	}
	slices.SortFunc(s.funcs, func(a, b funcShare) int {
		return cmp.Or(cmp.Compare(b.flat, a.flat), cmp.Compare(b.cum, a.cum), strings.Compare(a.name, b.name))
	})
	return s
}

// classify is the index in profileBuckets of the bucket that owns a
// sample's frames (innermost first), len(profileBuckets) for "other".
func classify(frames []string) int {
	for i, b := range profileBuckets {
		if b.stack && slices.ContainsFunc(frames, b.match) {
			return i
		}
	}
	for _, fn := range frames {
		for i, b := range profileBuckets {
			if !b.stack && b.match(fn) {
				return i
			}
		}
	}
	return len(profileBuckets)
}

// sampleFrames are a sample's function names, innermost first, inlined
// calls included.
func sampleFrames(s *profile.Sample) []string {
	var out []string
	for _, loc := range s.Location {
		for _, line := range loc.Line {
			if line.Function != nil {
				out = append(out, line.Function.Name)
			}
		}
	}
	return out
}

// cpuValueIndex is the index of the CPU time among a profile's sample
// values (Go's CPU profiles have samples/count, then cpu/nanoseconds).
func cpuValueIndex(p *profile.Profile) int {
	for i, t := range p.SampleType {
		if t.Type == "cpu" {
			return i
		}
	}
	return max(len(p.SampleType)-1, 0)
}

// countValueIndex is the index of the sample count among a profile's
// sample values, -1 without one.
func countValueIndex(p *profile.Profile) int {
	for i, t := range p.SampleType {
		if t.Type == "samples" {
			return i
		}
	}
	return -1
}
