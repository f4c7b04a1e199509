package main

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bucketProfile is a summary whose buckets hold the given CPU values,
// one sample each, from frames each bucket owns.
func bucketProfile(t *testing.T, values map[string]int64) profileSummary {
	t.Helper()
	frames := map[string][]string{
		bucketSyscalls:  {"syscall.write", fnH1Serve},
		bucketScheduler: {"runtime.futex", "runtime.findRunnable"},
		bucketGC:        {"runtime.scanobject", "runtime.gcBgMarkWorker"},
		bucketH1:        {fnH1Read, fnH1Serve},
		bucketProxy:     {fnProxyServe, fnH1Serve},
		bucketRouter:    {skyportPkg + "dataplane/router.(*Router).Match", fnProxyServe},
		bucketStatus:    {skyportPkg + "dataplane/status.(*Series).Observe", fnProxyServe},
	}
	var stacks [][]string
	var ns []int64
	for _, name := range bucketOrder {
		if v, ok := values[name]; ok {
			require.Contains(t, frames, name)
			stacks, ns = append(stacks, frames[name]), append(ns, v)
		}
	}
	return summarize(profileOf(stacks, ns))
}

// profileReport is a run with one layout and scheme whose Skyport rows
// miss every goal against nginx (throughput 0.73×, CPU 1.30×, p99 1.6×)
// and meet the plugins row, with the given profile passes.
func profileReport(profiles []floorProfile) *report {
	return &report{opts: options{conns: 64}, floorProfiles: profiles,
		floor: floorOf(floorPinned, "http", [3]float64{30000, 40, 10}, [3]float64{29000, 46, 12}, [3]float64{22000, 52, 16},
			[3]float64{20000, 55, 16}, [3]float64{22000, 52, 16})}
}

func TestProfileNotes(t *testing.T) {
	t.Parallel()
	floor := func(t *testing.T) floorProfile {
		return floorProfile{layout: floorPinned, scheme: "http", proxy: skyportFloor("http"), cpuUS: 46, requests: 90000, seconds: 3,
			summary: bucketProfile(t, map[string]int64{bucketSyscalls: 50, bucketScheduler: 20, bucketH1: 20, bucketGC: 10})}
	}
	sky := func(t *testing.T) floorProfile {
		return floorProfile{layout: floorPinned, scheme: "http", proxy: floorSkyport, cpuUS: 52, requests: 90000, seconds: 3, coverage: 0.4,
			summary: bucketProfile(t, map[string]int64{bucketSyscalls: 40, bucketScheduler: 15, bucketH1: 15, bucketGC: 10,
				bucketProxy: 10, bucketRouter: 5, bucketStatus: 5})}
	}
	const medians = "CPU per request, medians: nginx 40.0 µs, the h1 floor 46.0, Skyport 52.0; Skyport is 12.0 µs above nginx, 6.0 of it the floor's and 6.0 its own."
	const aboveNginx = "Above nginx's 40.0 µs, the floor's profile (46.0 µs per request in its pass) has system calls 23.0 µs, runtime scheduler 9.2 µs, " +
		"h1 parsing and writing 9.2 µs, GC and allocation 4.6 µs; system calls per request: nginx 6.0, the floor 6.0."
	const aboveFloor = "Above the floor, Skyport's profile (52.0 µs per request in its pass, +6.0 against the floor's pass) has, bucket by bucket: " +
		"proxy native path +5.2 µs, router +2.6 µs, status, metrics and log +2.6 µs, GC and allocation +0.6 µs, runtime scheduler -1.4 µs, " +
		"h1 parsing and writing -1.4 µs, system calls -2.2 µs; its own code (the proxy, router, plugins and status buckets) 10.4 µs of its pass."
	for _, tc := range []struct {
		desc     string
		profiles func(t *testing.T) []floorProfile
		want     []string
		not      []string
	}{
		{
			desc:     "both profiled",
			profiles: func(t *testing.T) []floorProfile { return []floorProfile{floor(t), sky(t)} },
			want: []string{
				"- **1 core, http**: throughput ≥ 0.8× nginx at 0.73×, CPU per request ≤ 1.25× nginx at 1.30×, p99 ≤ 1.5× nginx at 1.60× not met. ",
				medians, aboveNginx, aboveFloor,
				"p99 over the passes: Skyport 16.00 ms–16.00 ms, nginx 10.00 ms–10.00 ms.",
				"`wrk -t1 -c64 -d4s`, with `/debug/pprof/profile?seconds=3` taken from 500ms into it.",
				"#### Profiles: 1 core, http\n\nh1 floor: 46.0 µs CPU per request (90000 requests), 4 samples (a share's standard error at most 25.0 points). " +
					"Skyport: 52.0 µs CPU per request (90000 requests), 7 samples, 40% of its /proc CPU time over the profile (a share's standard error at most 18.9 points).\n",
				"| system calls | 50.0% (50.0%) | 23.0 | 40.0% (40.0%) | 20.8 | -2.2 |\n",
				"| router | 0.0% (0.0%) | 0.0 | 5.0% (5.0%) | 2.6 | +2.6 |\n",
				"| h1 parsing and writing | 20.0% (70.0%) | 9.2 | 15.0% (65.0%) | 7.8 | -1.4 |\n",
				"Top 10 functions by flat, Skyport: `syscall.write` 40.0% (cum 40.0%), ",
				"`dataplane/status.(*Series).Observe` 5.0% (cum 5.0%).\n",
				"in the kept section \"An event loop under h1 (issue 19)\"",
			},
			not: []string{"| TLS", "| plugins |", "| other |", "failed", "` 0.0% (cum"},
		},
		{
			desc: "Skyport's profile failed",
			profiles: func(t *testing.T) []floorProfile {
				s := sky(t)
				s.summary, s.err = profileSummary{}, errors.New("fetching the profile: connection\nrefused")
				return []floorProfile{floor(t), s}
			},
			want: []string{
				medians, aboveNginx,
				"Skyport's profile failed (fetching the profile: connection refused).",
				"Skyport: profile failed: fetching the profile: connection refused.",
				"| system calls | 50.0% (50.0%) | 23.0 | — | — | — |\n",
				"Top 10 functions by flat, h1 floor: ",
			},
			not: []string{"Above the floor", "Top 10 functions by flat, Skyport"},
		},
		{
			desc: "the floor's profile has no samples",
			profiles: func(t *testing.T) []floorProfile {
				f := floor(t)
				f.summary = profileSummary{}
				return []floorProfile{f, sky(t)}
			},
			want: []string{
				medians,
				"The floor's profile has no samples. Skyport's profile (52.0 µs per request in its pass) has system calls 20.8 µs, " +
					"runtime scheduler 7.8 µs, h1 parsing and writing 7.8 µs, GC and allocation 5.2 µs, proxy native path 5.2 µs, " +
					"router 2.6 µs, status, metrics and log 2.6 µs.",
				"h1 floor: 46.0 µs CPU per request (90000 requests), 0 samples (a share's standard error at most 100.0 points).",
				"| system calls | — | — | 40.0% (40.0%) | 20.8 | — |\n",
			},
			not: []string{"Above the floor", "Above nginx's", "Top 10 functions by flat, h1 floor"},
		},
		{
			desc:     "not profiled",
			profiles: func(*testing.T) []floorProfile { return nil },
			want:     []string{medians, "This run took no profile (section `floor` or `floorprofile` skipped).", "What a profile cannot show"},
			not:      []string{"#### Profiles", "Above nginx's"},
		},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			r := profileReport(tc.profiles(t))
			md := r.markdown()
			require.Contains(t, md, "### What the profile shows")
			notes := md[strings.Index(md, "### What the profile shows"):]
			for _, s := range tc.want {
				assert.Contains(t, notes, s)
			}
			for _, s := range tc.not {
				assert.NotContains(t, notes, s)
			}
		})
	}
}

func TestProfileNotesOtherRows(t *testing.T) {
	t.Parallel()
	// Skyport meets nginx's goals; its key-auth + rate-limiting row does
	// not (0.80 of no plugins), and the profile pass does not run it.
	r := &report{opts: options{conns: 64},
		floor: floorOf(floorPinned, "http", [3]float64{30000, 40, 10}, [3]float64{29000, 42, 12}, [3]float64{27000, 45, 12},
			[3]float64{21600, 55, 16}, [3]float64{27000, 45, 12})}
	notes := r.profileUnmet()
	assert.Equal(t, "The goal rows not met, and what this run's profiles put above nginx's figure and above the h1 floor:\n\n"+
		"- **1 core, http**: key-auth + rate-limiting ≥ 0.85 of no plugins at 0.80 not met; the profile pass does not run that row.\n\n", notes)
}

// TestFloorProfileRounds checks that a pass whose profile fails is kept
// with its error, the other passes run, and the report states it.
func TestFloorProfileRounds(t *testing.T) {
	t.Parallel()
	summary := bucketProfile(t, map[string]int64{bucketSyscalls: 60, bucketH1: 40})
	var ran []string
	got := floorProfileRounds(3, func(layout, scheme, proxy string) (floorProfile, error) {
		ran = append(ran, layout+"/"+scheme+"/"+proxy)
		switch {
		case layout == floorPinned && scheme == "http" && proxy == floorSkyport:
			return floorProfile{cpuUS: 50, requests: 1000}, errors.New("the profile from 127.0.0.1:1 is larger than 8388608 bytes")
		case layout == floorPinned && scheme == "http" && proxy == skyportFloor("http"):
			// The first pass, failed before wrk ran: nothing but its error.
			return floorProfile{}, errors.New("h1proxy exited")
		}
		return floorProfile{cpuUS: 40, requests: 1000, summary: summary}, nil
	})
	require.Len(t, got, len(floorLayouts)*len(floorSchemes)*2)
	assert.Len(t, ran, len(got))
	var failed []floorProfile
	for _, f := range got {
		if f.err != nil {
			failed = append(failed, f)
		}
	}
	require.Len(t, failed, 2)
	assert.Equal(t, floorProfile{layout: floorPinned, scheme: "http", proxy: floorSkyport, cpuUS: 50, requests: 1000, seconds: 3, err: failed[1].err}, failed[1])
	assert.Equal(t, floorProfile{layout: floorPinned, scheme: "http", proxy: skyportFloor("http"), seconds: 3, err: failed[0].err}, failed[0])

	r := profileReport(got)
	notes := r.profileNotes()
	assert.Contains(t, notes, "`wrk -t1 -c64 -d4s`, with `/debug/pprof/profile?seconds=3` taken")
	assert.Contains(t, notes, "The floor's profile failed (h1proxy exited). Skyport's profile failed")
	assert.Contains(t, notes, "Skyport's profile failed (the profile from 127.0.0.1:1 is larger than 8388608 bytes).")
	assert.Contains(t, notes, "h1 floor: profile failed: h1proxy exited. Skyport: profile failed: the profile from 127.0.0.1:1 is larger than 8388608 bytes.")
	assert.Contains(t, notes, "#### Profiles: unpinned, https\n\nh1 floor: 40.0 µs CPU per request (1000 requests), 2 samples (a share's standard error at most 35.4 points). "+
		"Skyport: 40.0 µs CPU per request (1000 requests), 2 samples (a share's standard error at most 35.4 points).")
}

// TestProfileKept checks that the kept sections the notes name for what
// a profile cannot show are in the repository's report.
func TestProfileKept(t *testing.T) {
	t.Parallel()
	blocks, err := keepFrom("../BENCHMARKS.md")
	require.NoError(t, err)
	for _, name := range profileKept {
		found := false
		for _, b := range blocks {
			found = found || strings.Contains(b.text, "## "+name+"\n")
		}
		assert.True(t, found, name)
	}
}

// TestSkyportFloor checks that Skyport's default row is profiled and
// compared with the h1 floor of its own connection model.
func TestSkyportFloor(t *testing.T) {
	t.Parallel()
	want := floorH1
	if proxy.DefaultEventLoop && runtime.GOOS == "linux" {
		want = floorH1Loop
	}
	assert.Equal(t, want, skyportFloor("http"), "plain HTTP")
	assert.Equal(t, floorH1, skyportFloor("https"), "TLS listeners never run on event loops")
	assert.Equal(t, []string{want, floorSkyport}, floorProfiled("http"))
}
