package main

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeStatus answers /status/ready?revision=N as a data plane running
// revision 0 for its first `after` questions, then revision `running`; a
// refused revision is reported as the data plane reports it.
func fakeStatus(t *testing.T, after int64, running, refused int64) (url string, asked *atomic.Int64) {
	t.Helper()
	asked = &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/status/ready" {
			http.NotFound(w, r)
			return
		}
		want, err := strconv.ParseInt(r.URL.Query().Get("revision"), 10, 64)
		require.NoError(t, err)
		rev := int64(0)
		if asked.Add(1) > after {
			rev = running
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case rev >= want:
			_, _ = w.Write([]byte(`{"message":"ready"}`))
		case refused >= want:
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"message":"revision ` + strconv.FormatInt(want, 10) + ` not applied: refused","revision":1,"rejected_revision":` + strconv.FormatInt(refused, 10) + `}`))
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"message":"revision ` + strconv.FormatInt(want, 10) + ` not applied yet: running revision ` + strconv.FormatInt(rev, 10) + `","revision":1}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, asked
}

func TestWait(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc           string
		after          int64
		running        int64
		refused        int64
		timeout        string
		code           int
		stdout, stderr string
		atLeastAsked   int64
	}{
		{desc: "already applied", running: 5, timeout: "1m", code: 0, stdout: "revision 5 applied\n", atLeastAsked: 1},
		{desc: "a newer one applied", running: 9, timeout: "1m", code: 0, stdout: "revision 5 applied\n", atLeastAsked: 1},
		{desc: "applied after a while", after: 3, running: 5, timeout: "1m", code: 0, stdout: "revision 5 applied\n", atLeastAsked: 4},
		{desc: "refused", running: 4, refused: 5, timeout: "1m", code: 1, stderr: "not applied: refused", atLeastAsked: 1},
		{desc: "never applied", running: 4, timeout: "300ms", code: 1, stderr: "revision 5 not applied by", atLeastAsked: 1},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			url, asked := fakeStatus(t, tt.after, tt.running, tt.refused)
			code, stdout, stderr := runCLI(t, "wait", "--revision", "5", "--status-url", url, "--timeout", tt.timeout)
			require.Equal(t, tt.code, code, "stderr: %s", stderr)
			require.Equal(t, tt.stdout, stdout)
			require.Contains(t, stderr, tt.stderr)
			require.GreaterOrEqual(t, asked.Load(), tt.atLeastAsked)
		})
	}
	code, _, stderr := runCLI(t, "wait", "--revision", "5", "--status-url", "127.0.0.1:9100")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "--status-url")
}
