package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// send is do without assertions, safe from any goroutine.
func (c *client) send(method, path string, body any) (response, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return response{}, fmt.Errorf("encoding body: %w", err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.url+path, rd)
	if err != nil {
		return response{}, fmt.Errorf("building request: %w", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("sending %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("reading %s %s: %w", method, path, err)
	}
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			return response{}, fmt.Errorf("decoding %s: %w", raw, err)
		}
	}
	return out, nil
}

// parallel sends the requests at once and returns their answers in order.
func (c *client) parallel(reqs ...request) []response {
	c.t.Helper()
	out := make([]response, len(reqs))
	errs := make([]error, len(reqs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i], errs[i] = c.send(r.method, r.path, r.body)
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		require.NoError(c.t, err)
	}
	return out
}

// rounds is n, or fewer on the emulator.
func (c *client) rounds(n, emulated int) int {
	if c.emulated {
		return emulated
	}
	return n
}

type request struct {
	method, path string
	body         any
}

// testConcurrentPatches races five PATCHes of one service, each setting
// another field, round after round: every PATCH answers 200 and every
// field it set is kept.
func testConcurrentPatches(t *testing.T, c *client) {
	c.must(http.StatusCreated, "POST", "/services", map[string]any{"name": "x", "host": "x.internal"})
	fields := []string{"retries", "connect_timeout", "write_timeout", "read_timeout", "port"}
	rounds := c.rounds(20, 8)
	lost := 0
	for round := range rounds {
		want := map[string]any{}
		var reqs []request
		for i, f := range fields {
			v := 1000 + 10*round + i
			want[f] = float64(v)
			reqs = append(reqs, request{"PATCH", "/services/x", map[string]any{f: v}})
		}
		for i, r := range c.parallel(reqs...) {
			require.Equal(t, http.StatusOK, r.status, "round %d, PATCH of %s: %s", round, fields[i], r.raw)
		}
		got := c.must(http.StatusOK, "GET", "/services/x", nil)
		for f, v := range want {
			if got[f] != v {
				lost++
			}
		}
	}
	require.Zero(t, lost, "fields set by a PATCH that answered 200 and lost afterwards, of %d", rounds*len(fields))
}

// testCredentialDeleteRace races the DELETE of a credential with PATCHes
// of it: once DELETE has answered 204 the credential is gone for good, and
// a PATCH either came first (200) or found nothing (404).
func testCredentialDeleteRace(t *testing.T, c *client) {
	c.must(http.StatusCreated, "POST", "/consumers", map[string]any{"username": "alice"})
	rounds := c.rounds(30, 12)
	resurrected := 0
	for round := range rounds {
		key := fmt.Sprintf("key-%02d", round)
		cred := c.must(http.StatusCreated, "POST", "/consumers/alice/key-auth", map[string]any{"key": key})
		path := "/consumers/alice/key-auth/" + cred["id"].(string)
		answers := c.parallel(
			request{"PATCH", path, map[string]any{"tags": []string{"a"}}},
			request{"DELETE", path, nil},
			request{"PATCH", path, map[string]any{"tags": []string{"b"}}},
		)
		require.Equal(t, http.StatusNoContent, answers[1].status, "round %d, DELETE: %s", round, answers[1].raw)
		for _, i := range []int{0, 2} {
			require.Contains(t, []int{http.StatusOK, http.StatusNotFound}, answers[i].status, "round %d, PATCH: %s", round, answers[i].raw)
		}
		if c.do("GET", "/key-auths/"+key, nil).status != http.StatusNotFound {
			resurrected++
		}
	}
	require.Zero(t, resurrected, "credentials that exist after their DELETE answered 204, of %d", rounds)
}
