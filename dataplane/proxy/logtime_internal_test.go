package proxy

import (
	"testing"
	"time"
)

// TestLineTime: the cached formatting writes what RFC3339Nano writes,
// across seconds, zones, whole seconds and trailing zeros.
func TestLineTime(t *testing.T) {
	t.Parallel()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	base := time.Date(2026, 3, 29, 0, 59, 58, 0, time.UTC)
	var lt lineTime
	for _, loc := range []*time.Location{time.UTC, paris, time.FixedZone("X", -(7*3600 + 30*60)), time.FixedZone("Z0", 0), time.Local} {
		for _, d := range []time.Duration{0, 1, 10, 120, 999_999_999, time.Second, time.Second + 500*time.Millisecond,
			2*time.Second + 123456789, 3 * time.Second, time.Hour + 7} {
			tm := base.Add(d).In(loc)
			want := tm.Format(time.RFC3339Nano)
			if got := string(lt.appendTime(nil, tm)); got != want {
				t.Errorf("%v: got %q, want %q", tm, got, want)
			}
			// The same second again, from the cache.
			tm = tm.Add(1)
			if got, want := string(lt.appendTime([]byte("x"), tm)), "x"+tm.Format(time.RFC3339Nano); got != want {
				t.Errorf("%v cached: got %q, want %q", tm, got, want)
			}
		}
	}
	for _, tm := range []time.Time{time.Date(10000, 1, 1, 0, 0, 0, 5, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if got, want := string(lt.appendTime(nil, tm)), tm.Format(time.RFC3339Nano); got != want {
			t.Errorf("%v: got %q, want %q", tm, got, want)
		}
	}
}
