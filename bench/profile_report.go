package main

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// bucketOrder is the order in which the report lists the buckets.
var bucketOrder = []string{bucketSyscalls, bucketScheduler, bucketGC, bucketTLS, bucketH1, bucketLoop,
	bucketProxy, bucketRouter, bucketPlugins, bucketStatus, bucketOther}

// skyportOwn are the buckets of Skyport's own code, which the h1 floor
// does not run.
var skyportOwn = []string{bucketProxy, bucketRouter, bucketPlugins, bucketStatus}

// profileTopN is how many functions the report lists per profile.
const profileTopN = 10

// profileMethod says how the profiles were taken and classified.
func (r *report) profileMethod() string {
	secs := r.floorProfiles[0].seconds
	return fmt.Sprintf("This run's CPU profiles: after the measured passes, the h1 floor (`bench h1proxy -pprof`, with `-loop` where Skyport's default row serves on event loops: the floor with its connection model) and Skyport's default row "+
		"(`skyport dp --pprof-listen`) ran once more in each layout and scheme under `wrk -t1 -c%d -d%ds`, "+
		"with `/debug/pprof/profile?seconds=%d` taken from %s into it. "+
		"Each sample counts once: for the first of GC and allocation, the runtime scheduler (`findRunnable`, `park_m`, `netpoll` with its `epoll_wait`, futexes), "+
		"system calls (`syscall`, `internal/runtime/syscall`, `x/sys/unix`, the event loop's raw calls) and TLS (`crypto/…`) with a frame anywhere on its stack; "+
		"else for the package of its innermost Skyport frame (dataplane/h1; dataplane/loop; the proxy: dataplane/proxy, upstream and exchange, and the floor's own handler; "+
		"the router; plugins; status, metrics and log: dataplane/status and dataplane/proxy's access-log and metrics functions), "+
		"with the library and runtime code that frame called; else other. "+
		"A share is of the profile's CPU time (in brackets, cum: the samples with one of the bucket's frames anywhere); "+
		"µs/request is the share times the pass's CPU per request (/proc over its wrk run).\n\n",
		r.opts.conns, floorProfileWrk(secs), secs, floorProfileLead)
}

// profileFind is the profile pass of one proxy in one layout and scheme.
func (r *report) profileFind(layout, scheme, proxy string) (floorProfile, bool) {
	for _, f := range r.floorProfiles {
		if f.layout == layout && f.scheme == scheme && f.proxy == proxy {
			return f, true
		}
	}
	return floorProfile{}, false
}

// floorUnmet are the judged goal rows of one layout and scheme that are
// not met, as "goal: median": those of Skyport against nginx, then those
// of another row, which the profile pass does not run.
func (r *report) floorUnmet(layout, scheme string) (vsNginx, others []string) {
	for _, c := range floorCompares {
		s, ok1 := r.floorFind(layout, scheme, c.subject)
		ref, ok2 := r.floorFind(layout, scheme, c.ref)
		if !c.judged || !ok1 || !ok2 {
			continue
		}
		p := floorPairs(s, ref, c.metric)
		if len(p) == 0 || c.bound.ok(p.median()) {
			continue
		}
		if c.subject == floorSkyport && c.ref == floorNginx {
			vsNginx = append(vsNginx, fmt.Sprintf("%s at %.2f×", c.goal, p.median()))
		} else {
			others = append(others, fmt.Sprintf("%s at %.2f", c.goal, p.median()))
		}
	}
	return vsNginx, others
}

// profileUnmet says, for each layout and scheme with a goal row not met,
// what this run's profiles put above nginx's figure (the floor's
// buckets: nginx is not profiled) and above the h1 floor (Skyport's
// buckets less the floor's).
func (r *report) profileUnmet() string {
	var b strings.Builder
	for _, layout := range floorLayouts {
		for _, scheme := range floorSchemes {
			vsNginx, others := r.floorUnmet(layout, scheme)
			if len(vsNginx)+len(others) == 0 {
				continue
			}
			if b.Len() == 0 {
				b.WriteString("The goal rows not met, and what this run's profiles put above nginx's figure and above the h1 floor:\n\n")
			}
			fmt.Fprintf(&b, "- **%s, %s**: ", layout, scheme)
			if len(vsNginx) > 0 {
				fmt.Fprintf(&b, "%s not met. %s", strings.Join(vsNginx, ", "), r.profileGap(layout, scheme))
			}
			if len(others) > 0 {
				if len(vsNginx) > 0 {
					b.WriteString(" ")
				}
				fmt.Fprintf(&b, "%s not met; the profile pass does not run that row.", strings.Join(others, ", "))
			}
			b.WriteString("\n")
		}
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	return b.String()
}

// profileGap splits Skyport's CPU per request above nginx's into the
// floor's part and its own, by the rows' medians, then by the profiles.
func (r *report) profileGap(layout, scheme string) string {
	ngx, ok1 := r.floorFind(layout, scheme, floorNginx)
	h1, ok2 := r.floorFind(layout, scheme, skyportFloor(scheme))
	sky, ok3 := r.floorFind(layout, scheme, floorSkyport)
	if !ok1 || !ok2 || !ok3 {
		return ""
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("CPU per request, medians: nginx %.1f µs, the h1 floor %.1f, Skyport %.1f; Skyport is %.1f µs above nginx, %.1f of it the floor's and %.1f its own. ",
		ngx.cpuUS, h1.cpuUS, sky.cpuUS, sky.cpuUS-ngx.cpuUS, h1.cpuUS-ngx.cpuUS, sky.cpuUS-h1.cpuUS)
	if len(r.floorProfiles) == 0 {
		return r.withP99(&b, layout, scheme)
	}
	fp, okF := r.profileFind(layout, scheme, skyportFloor(scheme))
	sp, okS := r.profileFind(layout, scheme, floorSkyport)
	switch {
	case !okF:
		w("The floor was not profiled. ")
	case fp.err != nil:
		w("The floor's profile failed (%s). ", oneLine(fp.err))
	case !usable(fp, okF):
		w("The floor's profile has no samples. ")
	default:
		w("Above nginx's %.1f µs, the floor's profile (%.1f µs per request in its pass) has %s; system calls per request: nginx %s, the floor %s. ",
			ngx.cpuUS, fp.cpuUS, bucketsUS(fp), syscalls(ngx), syscalls(h1))
	}
	switch {
	case !okS:
		w("Skyport was not profiled.")
	case sp.err != nil:
		w("Skyport's profile failed (%s).", oneLine(sp.err))
	case !usable(sp, okS):
		w("Skyport's profile has no samples.")
	case usable(fp, okF):
		w("Above the floor, Skyport's profile (%.1f µs per request in its pass, %+.1f against the floor's pass) has, bucket by bucket: %s; its own code (the proxy, router, plugins and status buckets) %.1f µs of its pass.",
			sp.cpuUS, sp.cpuUS-fp.cpuUS, bucketDiffs(sp, fp), ownUS(sp))
	default:
		w("Skyport's profile (%.1f µs per request in its pass) has %s.", sp.cpuUS, bucketsUS(sp))
	}
	return r.withP99(&b, layout, scheme)
}

// withP99 ends a gap's text with the p99 ranges, where p99 is not met.
func (r *report) withP99(b *strings.Builder, layout, scheme string) string {
	text := strings.TrimSpace(b.String())
	if p99 := r.p99Ranges(layout, scheme); p99 != "" {
		text += " " + p99
	}
	return text
}

// p99Ranges states the passes' p99 ranges of Skyport and nginx, where
// the p99 row is not met: how far the machine moved them.
func (r *report) p99Ranges(layout, scheme string) string {
	ngx, ok1 := r.floorFind(layout, scheme, floorNginx)
	sky, ok2 := r.floorFind(layout, scheme, floorSkyport)
	if !ok1 || !ok2 || len(ngx.passes) == 0 || len(sky.passes) == 0 {
		return ""
	}
	if floorPairs(sky, ngx, metricP99).median() <= goalP99 {
		return ""
	}
	rng := func(f floorRow) string {
		lo, hi := f.passes[0].p99, f.passes[0].p99
		for _, p := range f.passes {
			lo, hi = min(lo, p.p99), max(hi, p.p99)
		}
		return ms(lo) + "–" + ms(hi)
	}
	return fmt.Sprintf("p99 over the passes: Skyport %s, nginx %s.", rng(sky), rng(ngx))
}

// bucketsUS lists a profile's buckets by µs per request, largest first,
// leaving out those under 0.05 µs.
func bucketsUS(f floorProfile) string {
	return bucketParts(f.bucketUS, "%s %.1f µs")
}

// bucketDiffs lists sky's buckets less floor's in µs per request, the
// largest increase first, leaving out differences under 0.05 µs.
func bucketDiffs(sky, floor floorProfile) string {
	return bucketParts(func(name string) float64 { return sky.bucketUS(name) - floor.bucketUS(name) }, "%s %+.1f µs")
}

// bucketParts lists the buckets by their value of us, largest first, as
// format of the name and the value, leaving out values within 0.05 of 0.
func bucketParts(us func(name string) float64, format string) string {
	type part struct {
		name string
		us   float64
	}
	var parts []part
	for _, name := range bucketOrder {
		if v := us(name); math.Abs(v) >= 0.05 {
			parts = append(parts, part{name, v})
		}
	}
	slices.SortStableFunc(parts, func(a, b part) int { return cmp.Compare(b.us, a.us) })
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = fmt.Sprintf(format, p.name, p.us)
	}
	return strings.Join(out, ", ")
}

// ownUS is the µs per request of Skyport's own code in a profile.
func ownUS(f floorProfile) float64 {
	var us float64
	for _, name := range skyportOwn {
		us += f.bucketUS(name)
	}
	return us
}

// profileTables renders, per layout and scheme, the floor's and
// Skyport's buckets side by side and their top functions.
func (r *report) profileTables() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	for _, layout := range floorLayouts {
		for _, scheme := range floorSchemes {
			fp, okF := r.profileFind(layout, scheme, skyportFloor(scheme))
			sp, okS := r.profileFind(layout, scheme, floorSkyport)
			if !okF && !okS {
				continue
			}
			w("#### Profiles: %s, %s\n\n", layout, scheme)
			w("h1 floor: %s. Skyport: %s.\n\n", passLine(fp, okF), passLine(sp, okS))
			w("| where the CPU goes | h1 floor: share (cum) | µs/request | Skyport: share (cum) | µs/request | Skyport − floor: µs/request |\n")
			w("|---|---:|---:|---:|---:|---:|\n")
			for _, name := range bucketOrder {
				if !hasBucket(fp, okF, name) && !hasBucket(sp, okS, name) {
					continue
				}
				diff := "—"
				if usable(fp, okF) && usable(sp, okS) {
					diff = fmt.Sprintf("%+.1f", sp.bucketUS(name)-fp.bucketUS(name))
				}
				w("| %s | %s | %s | %s |\n", name, bucketCells(fp, okF, name), bucketCells(sp, okS, name), diff)
			}
			w("\n")
			for _, p := range []struct {
				name string
				f    floorProfile
				ok   bool
			}{{"h1 floor", fp, okF}, {"Skyport", sp, okS}} {
				if usable(p.f, p.ok) {
					w("Top %d functions by flat, %s: %s.\n\n", profileTopN, p.name, topFuncs(p.f.summary, profileTopN))
				}
			}
		}
	}
	return b.String()
}

// passLine states a profile pass: its CPU per request and samples, or
// why it has none.
func passLine(f floorProfile, ok bool) string {
	switch {
	case !ok:
		return "not profiled"
	case f.err != nil:
		return "profile failed: " + oneLine(f.err)
	}
	n := f.summary.samples
	covered := ""
	if f.coverage > 0 {
		covered = fmt.Sprintf(", %.0f%% of its /proc CPU time over the profile", 100*f.coverage)
	}
	return fmt.Sprintf("%.1f µs CPU per request (%d requests), %d samples%s (a share's standard error at most %.1f points)",
		f.cpuUS, f.requests, n, covered, shareError(n))
}

// shareError is the largest standard error of a share estimated from n
// samples, in percentage points: 50/√n, at a share of one half.
func shareError(n int64) float64 {
	if n <= 0 {
		return 100
	}
	return 50 / math.Sqrt(float64(n))
}

func usable(f floorProfile, ok bool) bool { return ok && f.err == nil && f.summary.total > 0 }

func hasBucket(f floorProfile, ok bool, name string) bool {
	return usable(f, ok) && f.summary.bucket(name).cum > 0
}

// bucketCells are a bucket's two cells for one profile: its share (cum)
// and µs per request.
func bucketCells(f floorProfile, ok bool, name string) string {
	if !usable(f, ok) {
		return "— | —"
	}
	bs := f.summary.bucket(name)
	cum := fmt.Sprintf(" (%.1f%%)", 100*f.summary.share(bs.cum))
	if name == bucketOther {
		cum = ""
	}
	return fmt.Sprintf("%.1f%%%s | %.1f", 100*f.summary.share(bs.flat), cum, f.bucketUS(name))
}

// topFuncs lists a profile's first n functions by flat share, the
// module's prefix left out.
func topFuncs(s profileSummary, n int) string {
	var out []string
	for _, f := range s.funcs[:min(n, len(s.funcs))] {
		if f.flat <= 0 {
			break
		}
		out = append(out, fmt.Sprintf("`%s` %.1f%% (cum %.1f%%)", strings.TrimPrefix(f.name, skyportPkg), 100*s.share(f.flat), 100*s.share(f.cum)))
	}
	return strings.Join(out, ", ")
}

// oneLine is an error's text on one line, cut to a length a table row
// holds.
func oneLine(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// profileKept are the kept sections of BENCHMARKS.md that measured what
// a Go profile cannot see.
var profileKept = []string{"An event loop under h1 (issue 19)", "HTTP/1.1 on dataplane/h1 (issue 19, part 2)"}

// profileUnseen says what a CPU profile cannot show and where it was
// measured.
func profileUnseen() string {
	return "What a profile cannot show: a Go CPU profile sees the kernel only as the system call it ran under " +
		"(the kernel's time lands on the call's frame, on loopback the receiver's TCP processing included) and nothing of the hypervisor. " +
		"Which kernel paths those are (TCP, netfilter, this virtual machine's interrupt handling, context switches) was measured with " +
		"`perf record -g` and `perf stat` in the kept section \"" + profileKept[0] + "\", and with `strace -c -f` in \"" + profileKept[1] + "\"; " +
		"the syscalls/request columns above are this run's `perf stat` counts, where perf could attach.\n"
}
