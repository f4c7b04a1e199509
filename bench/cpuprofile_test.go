package main

import (
	"bytes"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	fnH1Serve    = skyportPkg + "dataplane/h1.(*Conn).serve"
	fnH1Read     = skyportPkg + "dataplane/h1.(*Conn).readRequest"
	fnProxyServe = skyportPkg + "dataplane/proxy.(*Server).ServeH1"
)

// profileOf builds a CPU profile as Go writes one (samples/count, then
// cpu/nanoseconds): one record per stack, counting ns's periods (at
// least one), each frame (innermost first) a
// location of its own, unless a frame holds several functions separated
// by "<" (an inlined call, innermost first).
func profileOf(stacks [][]string, ns []int64) *profile.Profile {
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     10_000_000,
	}
	funcs := map[string]*profile.Function{}
	fn := func(name string) *profile.Function {
		if f, ok := funcs[name]; ok {
			return f
		}
		f := &profile.Function{ID: uint64(len(p.Function) + 1), Name: name, SystemName: name}
		funcs[name] = f
		p.Function = append(p.Function, f)
		return f
	}
	for i, stack := range stacks {
		s := &profile.Sample{Value: []int64{max(ns[i]/p.Period, 1), ns[i]}}
		for _, frame := range stack {
			loc := &profile.Location{ID: uint64(len(p.Location) + 1)}
			for _, name := range strings.Split(frame, "<") {
				loc.Line = append(loc.Line, profile.Line{Function: fn(name)})
			}
			p.Location = append(p.Location, loc)
			s.Location = append(s.Location, loc)
		}
		p.Sample = append(p.Sample, s)
	}
	return p
}

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc   string
		frames []string
		want   string
	}{
		{"h1's write", []string{"internal/runtime/syscall.Syscall6", "syscall.Syscall", "syscall.write", "internal/poll.(*FD).Write",
			"net.(*conn).Write", skyportPkg + "dataplane/h1.(*Response).flush", fnH1Serve}, bucketSyscalls},
		{"netpoll's epoll_wait is the scheduler's", []string{"internal/runtime/syscall.Syscall6", "internal/runtime/syscall/linux.EpollWait",
			"runtime.netpoll", "runtime.findRunnable", "runtime.schedule", "runtime.park_m", "runtime.mcall"}, bucketScheduler},
		{"a futex wake-up", []string{"runtime.futex", "runtime.futexwakeup", "runtime.notewakeup", "runtime.startm", "runtime.wakep",
			"runtime.ready", "runtime.goready", fnH1Serve}, bucketScheduler},
		{"an allocation in the proxy", []string{"runtime.memclrNoHeapPointers", "runtime.mallocgc", "runtime.newobject", fnProxyServe}, bucketGC},
		{"the mark worker", []string{"runtime.scanobject", "runtime.gcDrain", "runtime.gcBgMarkWorker", "runtime.goexit"}, bucketGC},
		{"h1's parse, through memmove", []string{"runtime.memmove", fnH1Read, fnH1Serve}, bucketH1},
		{"h1 called by the proxy", []string{skyportPkg + "dataplane/h1.(*Request).Header", fnProxyServe, fnH1Serve}, bucketH1},
		{"the proxy's own code", []string{"strconv.AppendInt", skyportPkg + "dataplane/proxy.(*Server).appendHead", fnProxyServe, fnH1Serve}, bucketProxy},
		{"the router", []string{skyportPkg + "dataplane/router.(*Router).Match", fnProxyServe, fnH1Serve}, bucketRouter},
		{"a plugin", []string{skyportPkg + "dataplane/plugins/keyauth.(*KeyAuth).Access", fnProxyServe}, bucketPlugins},
		{"the plugin view", []string{skyportPkg + "dataplane/plugin.(*View).Get", fnProxyServe}, bucketPlugins},
		{"a metrics series", []string{"sync/atomic.(*Int64).Add", skyportPkg + "dataplane/status.(*Series).Observe",
			skyportPkg + "dataplane/proxy.(*Server).observe", fnProxyServe}, bucketStatus},
		{"the proxy's metrics function", []string{skyportPkg + "dataplane/proxy.(*Server).observe", fnProxyServe}, bucketStatus},
		{"prometheus", []string{"github.com/prometheus/client_golang/prometheus.(*histogram).Observe", fnProxyServe}, bucketStatus},
		{"TLS's cipher", []string{"crypto/internal/fips140/aes/gcm.gcmAesEnc", "crypto/tls.(*Conn).Write", fnH1Serve}, bucketTLS},
		{"TLS's write is a system call", []string{"syscall.write", "net.(*conn).Write", "crypto/tls.(*Conn).Write", fnH1Serve}, bucketSyscalls},
		{"the loop's raw read", []string{"golang.org/x/sys/unix.RawSyscall", skyportPkg + "dataplane/loop.rawRead",
			skyportPkg + "dataplane/loop.(*Loop).run"}, bucketSyscalls},
		{"the loop's raw read, inlined", []string{skyportPkg + "dataplane/loop.rawRead<" + skyportPkg + "dataplane/loop.(*Loop).run"}, bucketSyscalls},
		{"the loop's own code", []string{skyportPkg + "dataplane/loop.(*Loop).runTasks"}, bucketLoop},
		{"the floor's handler", []string{"main.(*floorProxy).roundTrip", "main.(*floorProxy).ServeH1", fnH1Serve}, bucketProxy},
		{"a clock read", []string{"runtime.nanotime1", "time.Now"}, bucketOther},
		{"no frames", nil, bucketOther},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			s := summarize(profileOf([][]string{tc.frames}, []int64{20_000_000}))
			require.EqualValues(t, 2, s.samples, "one record of two samples")
			require.EqualValues(t, 20_000_000, s.total)
			assert.EqualValues(t, 20_000_000, s.bucket(tc.want).flat, "%+v", s.buckets)
			assert.EqualValues(t, 20_000_000, s.bucket(tc.want).cum)
			var flat int64
			for _, b := range s.buckets {
				flat += b.flat
			}
			assert.Equal(t, s.total, flat, "each sample counts for one bucket")
		})
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	write := []string{"syscall.write", skyportPkg + "dataplane/h1.(*Response).flush", fnH1Serve}
	parse := []string{fnH1Read + "<" + skyportPkg + "dataplane/h1.(*Conn).next", fnH1Serve}
	alloc := []string{"runtime.mallocgc", fnH1Read, fnH1Serve}
	s := summarize(profileOf([][]string{write, parse, alloc, write}, []int64{30, 20, 10, 40}))
	require.EqualValues(t, 4, s.samples)
	require.EqualValues(t, 100, s.total)
	assert.InDelta(t, 0.7, s.share(s.bucket(bucketSyscalls).flat), 1e-9)
	assert.InDelta(t, 0.2, s.share(s.bucket(bucketH1).flat), 1e-9)
	assert.InDelta(t, 1.0, s.share(s.bucket(bucketH1).cum), 1e-9, "every sample has an h1 frame")
	assert.InDelta(t, 0.1, s.share(s.bucket(bucketGC).flat), 1e-9)
	require.Len(t, s.funcs, 6)
	assert.Equal(t, funcShare{"syscall.write", 70, 70}, s.funcs[0])
	assert.Equal(t, funcShare{fnH1Read, 20, 30}, s.funcs[1], "the inlined call's innermost function is the flat one")
	assert.Equal(t, funcShare{"runtime.mallocgc", 10, 10}, s.funcs[2])
	assert.Equal(t, "`syscall.write` 70.0% (cum 70.0%), `dataplane/h1.(*Conn).readRequest` 20.0% (cum 30.0%)", topFuncs(s, 2))

	f := floorProfile{cpuUS: 40, summary: s}
	assert.InDelta(t, 28, f.bucketUS(bucketSyscalls), 1e-9)
	assert.InDelta(t, 0, f.bucketUS(bucketRouter), 1e-9)
}

// TestProfileBucketNames checks that the functions the buckets name one
// by one still exist in the repository's packages.
func TestProfileBucketNames(t *testing.T) {
	t.Parallel()
	decls := func(dir string) map[string]bool {
		files, err := filepath.Glob(filepath.Join("..", dir, "*.go"))
		require.NoError(t, err)
		names := map[string]bool{}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
			require.NoError(t, err)
			for _, d := range file.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok {
					names[skyportPkg+dir+"."+funcDeclName(fd)] = true
				}
			}
		}
		return names
	}
	proxy := decls("dataplane/proxy")
	for _, fn := range proxyStatusFuncs {
		assert.True(t, proxy[fn], fn)
	}
	loop := decls("dataplane/loop")
	for _, fn := range []string{"rawRead", "rawWrite", "pollNow"} {
		assert.True(t, loop[skyportPkg+"dataplane/loop."+fn], fn)
	}
}

// funcDeclName is a declaration's name as a profile states it:
// "(*T).M", "T.M" or "F".
func funcDeclName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) != 1 {
		return fd.Name.Name
	}
	recv := fd.Recv.List[0].Type
	if star, ok := recv.(*ast.StarExpr); ok {
		if id, ok := star.X.(*ast.Ident); ok {
			return "(*" + id.Name + ")." + fd.Name.Name
		}
	}
	if id, ok := recv.(*ast.Ident); ok {
		return id.Name + "." + fd.Name.Name
	}
	return fd.Name.Name
}

func TestFetchProfile(t *testing.T) {
	t.Parallel()
	var valid bytes.Buffer
	require.NoError(t, profileOf([][]string{{"syscall.write", fnH1Serve}}, []int64{10_000_000}).Write(&valid))
	const limit = 4096
	for _, tc := range []struct {
		desc    string
		handler http.HandlerFunc
		err     string
	}{
		{"a profile", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(valid.Bytes()) }, ""},
		{"more than the limit", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(make([]byte, 2*limit)) }, "larger than 4096 bytes"},
		{"one byte over", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(make([]byte, limit+1)) }, "larger than 4096 bytes"},
		{"not a profile", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hello")) }, "parsing the profile"},
		{"an error status", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "profiling already enabled", http.StatusInternalServerError)
		}, "500 Internal Server Error: profiling already enabled"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			p, err := fetchProfile(context.Background(), srv.Client(), srv.URL+"/debug/pprof/profile?seconds=1", limit)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.EqualValues(t, 1, summarize(p).samples)
		})
	}
}

// TestFetchProfileReal takes a real CPU profile from net/http/pprof, as
// the profile pass does from the proxies, and classifies it.
func TestFetchProfileReal(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(pprof.Profile))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := fetchProfile(ctx, srv.Client(), srv.URL+"/debug/pprof/profile?seconds=1", maxProfileBytes)
	require.NoError(t, err)
	require.Equal(t, "cpu", p.SampleType[cpuValueIndex(p)].Type)
	s := summarize(p)
	var flat int64
	for _, b := range s.buckets {
		flat += b.flat
	}
	assert.Equal(t, s.total, flat)
	assert.Len(t, s.buckets, len(bucketOrder))
}
