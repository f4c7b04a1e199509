package snapshot_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

// bomb returns gzip data that decompresses to a snapshot's opening
// followed by spaces, total bytes in all: one member for the opening and
// the same member of 1 MiB of spaces repeated (gzip readers join members),
// so a gigabyte costs about a megabyte to build and hold.
func bomb(t testing.TB, total int64) []byte {
	t.Helper()
	member := func(p []byte) []byte {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		require.NoError(t, err)
		_, err = zw.Write(p)
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		return buf.Bytes()
	}
	head := []byte(`{"format":"1.0","revision":1,"services":[`)
	const chunk = 1 << 20
	spaces := member(bytes.Repeat([]byte(" "), chunk))
	out := member(head)
	for n := int64(len(head)); n < total; n += chunk {
		out = append(out, spaces...)
	}
	return out
}

// TestDecodeBombBoundedMemory decodes a document that decompresses to 1 GiB
// against an 8 MiB bound: it is refused, and everything allocated while
// refusing it (Go's cumulative allocation counter, an upper bound of the
// heap's peak growth) stays far below the bound, where reading up to the
// bound and then refusing allocated several times the bound.
//
// Not parallel: the allocation counter is the whole process's, so this
// test runs while no other test of the package does.
func TestDecodeBombBoundedMemory(t *testing.T) {
	const bound = 8 << 20
	data := bomb(t, 1<<30)
	for name, decode := range decoders {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		doc, err := decode(data, bound)
		runtime.ReadMemStats(&after)
		require.ErrorIs(t, err, snapshot.ErrCorrupt, name)
		require.ErrorContains(t, err, "more than", name)
		require.Nil(t, doc, name)
		allocated := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: allocated %d KiB refusing a 1 GiB bomb at an 8 MiB bound", name, allocated>>10)
		require.Less(t, allocated, uint64(bound/2), "memory used while refusing a bomb (%s)", name)
	}
}

// decoders are the two decodings of a snapshot: whole (Open's), and as a
// stream, packed (OpenPacked's).
var decoders = map[string]func([]byte, int64) (*snapshot.Document, error){
	"whole": snapshot.DecodeMax, "stream": snapshot.DecodePackedMax,
}

// TestDecodeAtTheBound checks the bound itself: a document of exactly max
// decompressed bytes decodes, one byte more does not.
func TestDecodeAtTheBound(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"format":"1.0","revision":3}`)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(doc)
	require.NoError(t, zw.Close())

	for name, decode := range decoders {
		got, err := decode(buf.Bytes(), int64(len(doc)))
		require.NoError(t, err, name)
		require.EqualValues(t, 3, got.Revision, name)
		_, err = decode(buf.Bytes(), int64(len(doc)-1))
		require.ErrorIs(t, err, snapshot.ErrCorrupt, name)
	}
}

// bombRSSEnv, set, makes TestDecodeBombPeakRSS measure; it runs the
// product bound against a 10 GB bomb, which takes a few seconds of CPU.
const bombRSSEnv = "SKYPORT_MEASURE_BOMB_RSS"

// TestDecodeBombPeakRSS measures the peak resident memory of a process
// that decodes, at the product bound (MaxDecompressed), a snapshot
// decompressing to 10 GB: the figure in the README's security section.
// It runs the decode in a child process (this test binary again), with
// the peak reset once the bomb is built, so the figure is the process's
// peak while it decodes (the bomb's compressed bytes included).
//
//	SKYPORT_MEASURE_BOMB_RSS=1 go test -run TestDecodeBombPeakRSS -v ./internal/snapshot
func TestDecodeBombPeakRSS(t *testing.T) {
	switch os.Getenv(bombRSSEnv) {
	case "":
		t.Skip("a measurement, not a check: set " + bombRSSEnv + "=1 to run it")
	case "child":
		data := bomb(t, 10<<30)
		// The peak from here on: building the bomb is not the decode's.
		debug.FreeOSMemory()
		require.NoError(t, os.WriteFile("/proc/self/clear_refs", []byte("5"), 0), "resetting VmHWM")
		_, err := snapshot.Decode(data)
		require.ErrorIs(t, err, snapshot.ErrCorrupt)
		fmt.Printf("compressed=%d peak_kb=%d\n", len(data), peakKB(t))
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestDecodeBombPeakRSS$", "-test.v")
	cmd.Env = append(os.Environ(), bombRSSEnv+"=child")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	var compressed, kb int
	for _, line := range strings.Split(string(out), "\n") {
		if _, err := fmt.Sscanf(line, "compressed=%d peak_kb=%d", &compressed, &kb); err == nil {
			break
		}
	}
	require.NotZero(t, kb, "no figure from the child: %s", out)
	t.Logf("peak RSS refusing a 10 GB bomb (%d bytes compressed) at the %d MiB bound: %d MiB",
		compressed, snapshot.MaxDecompressed>>20, kb>>10)
	require.Less(t, kb, 128<<10, "peak RSS in KiB")
}

// peakKB reads the process's peak resident set (VmHWM) from /proc.
func peakKB(t *testing.T) int {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			require.NoError(t, err)
			return kb
		}
	}
	t.Skip("no VmHWM in /proc/self/status (not Linux)")
	return 0
}
