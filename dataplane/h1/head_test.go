package h1_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/h1"
)

// headCase is a response written both ways: fields in Header then
// WriteHeader, or WriteHead and AddField.
type headCase struct {
	desc   string
	method string
	proto  string
	status int
	fields [][2]string
	body   string
	// trailer: Trailer is used before the head, and X-Sum set after the
	// body.
	trailer bool
	// noEnd leaves the head to Write (or the handler's return) to end.
	noEnd bool
	// want are bytes the response must hold (both ways).
	want []string
	// wantNot are bytes it must not.
	wantNot []string
	// closes: the connection ends with the response.
	closes bool
}

const fixedDate = "Fri, 27 Nov 2026 16:00:00 GMT"

var headCases = [...]headCase{
	{desc: "Content-Length", status: 200, fields: [][2]string{{"Content-Type", "text/plain"}, {"Content-Length", "5"}, {"Date", fixedDate}},
		body: "hello", want: []string{"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nDate: " + fixedDate + "\r\n\r\nhello"}},
	{desc: "a small body without a length gets one", status: 200, fields: [][2]string{{"Date", fixedDate}}, body: "hello",
		want: []string{"Content-Length: 5\r\n\r\nhello"}},
	{desc: "a big body without a length is chunked", status: 200, fields: [][2]string{{"Date", fixedDate}},
		body: strings.Repeat("x", 10000), want: []string{"Transfer-Encoding: chunked\r\n"}},
	{desc: "HTTP/1.0 ends a big body by closing", proto: "HTTP/1.0", status: 200, fields: [][2]string{{"Date", fixedDate}},
		body: strings.Repeat("x", 10000), want: []string{"Connection: close\r\n"}, wantNot: []string{"chunked"}, closes: true},
	{desc: "HTTP/1.0 keep-alive", proto: "HTTP/1.0", status: 200, fields: [][2]string{{"Date", fixedDate}}, body: "hi",
		want: []string{"Content-Length: 2\r\n", "Connection: keep-alive\r\n"}},
	{desc: "HEAD has no body", method: "HEAD", status: 200, fields: [][2]string{{"Content-Length", "5"}, {"Date", fixedDate}},
		body: "hello", want: []string{"Content-Length: 5\r\nDate: " + fixedDate + "\r\n\r\n"}, wantNot: []string{"hello"}},
	{desc: "204 has no body", status: 204, fields: [][2]string{{"Date", fixedDate}}, body: "hello",
		want: []string{"HTTP/1.1 204 No Content\r\n"}, wantNot: []string{"hello", "Content-Length"}},
	{desc: "304 keeps its length and has no body", status: 304, fields: [][2]string{{"Content-Length", "5"}, {"Date", fixedDate}},
		want: []string{"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n"}},
	{desc: "Connection: close closes", status: 200, fields: [][2]string{{"Connection", "close"}, {"Date", fixedDate}}, body: "hi",
		want: []string{"Connection: close\r\n"}, closes: true},
	{desc: "Transfer-Encoding is the server's", status: 200, fields: [][2]string{{"Transfer-Encoding", "chunked"}, {"Date", fixedDate}},
		body: "hi", want: []string{"Content-Length: 2\r\n"}, wantNot: []string{"chunked"}},
	{desc: "the first valid Content-Length frames", status: 200,
		fields: [][2]string{{"Content-Length", "x"}, {"Content-Length", " 2 "}, {"Content-Length", "7"}, {"Date", fixedDate}},
		body:   "hi", want: []string{"Content-Length:  2 \r\n"}, wantNot: []string{"Content-Length: x", "Content-Length: 7"}},
	{desc: "a field cannot split the response", status: 200,
		fields: [][2]string{{"X-Evil", "a\r\nSet-Cookie: b"}, {"Bad Name", "c"}, {"Date", fixedDate}},
		want:   []string{"X-Evil: a  Set-Cookie: b\r\n"}, wantNot: []string{"Bad Name", "\nSet-Cookie"}},
	{desc: "trailers make the body chunked", status: 200, fields: [][2]string{{"Date", fixedDate}}, body: "hello", trailer: true,
		want: []string{"Transfer-Encoding: chunked\r\n", "0\r\nX-Sum: 42\r\n\r\n"}},
	{desc: "the server's Date", status: 200, fields: [][2]string{{"X-A", "1"}}, body: "hi", want: []string{"X-A: 1\r\nDate: "}},
	{desc: "an out-of-range status is 500", status: 1000, fields: [][2]string{{"Date", fixedDate}},
		want: []string{"HTTP/1.1 500 Internal Server Error\r\n"}},
	{desc: "Write ends the head", status: 201, fields: [][2]string{{"Date", fixedDate}}, body: "hello", noEnd: true,
		want: []string{"HTTP/1.1 201 Created\r\nDate: " + fixedDate + "\r\nContent-Length: 5\r\n\r\nhello"}},
	{desc: "the handler's return ends the head", status: 202, fields: [][2]string{{"Content-Length", "0"}, {"Date", fixedDate}},
		noEnd: true, want: []string{"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nDate: " + fixedDate + "\r\n\r\n"}},
}

// writeHeadCase writes c's response, with WriteHead when direct (and
// AddValidField for the fields checkedField passes when valid), else
// with Header and WriteHeader; it reports whether WriteHead took the
// head.
func writeHeadCase(w *h1.Response, c *headCase, direct, valid bool) bool {
	if c.trailer {
		w.Trailer()
	}
	ok := true
	if direct {
		ok = w.WriteHead(c.status)
		for _, f := range c.fields {
			if valid && checkedField(f[0], f[1]) {
				w.AddValidField([]byte(f[0]), []byte(f[1]))
				continue
			}
			w.AddFieldString(f[0], f[1])
		}
		if !c.noEnd {
			w.EndHead()
		}
	} else {
		for _, f := range c.fields {
			w.Header().Add(f[0], f[1])
		}
		w.WriteHeader(c.status)
	}
	if c.body != "" {
		_, _ = w.WriteString(c.body)
	}
	if c.trailer {
		w.Trailer().Set("X-Sum", "42")
	}
	return ok
}

// checkedField is the check AddValidField's caller makes: the name a
// token, the value without control characters but HTAB.
func checkedField(name, value string) bool {
	if name == "" || strings.ContainsFunc(name, func(r rune) bool {
		return r > 0x7e || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r)
	}) {
		return false
	}
	return !strings.ContainsFunc(value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f })
}

var dateLine = regexp.MustCompile(`Date: [^\r]*\r\n`)

// TestWriteHead: a head written field by field (WriteHead, AddField or
// AddValidField, EndHead) goes out byte for byte as the same fields set in Header and
// written by WriteHeader, with the same framing and persistence.
func TestWriteHead(t *testing.T) {
	t.Parallel()
	var refused [len(headCases)]atomic.Bool
	addr := start(t, &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		i, err := strconv.Atoi(strings.TrimPrefix(string(r.Path()), "/"))
		if err != nil {
			w.Header().Set("X-End", "1")
			_, _ = w.WriteString("end")
			return
		}
		c := &headCases[i]
		q := string(r.Query())
		if !writeHeadCase(w, c, q == "head" || q == "valid", q == "valid") {
			refused[i].Store(true)
		}
	})})
	get := func(t *testing.T, i int, c *headCase, query string) string {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		method, proto := c.method, c.proto
		if method == "" {
			method = "GET"
		}
		if proto == "" {
			proto = "HTTP/1.1"
		}
		// A second request shows whether the connection was kept.
		raw := method + " /" + strconv.Itoa(i) + query + " " + proto + "\r\nHost: x\r\nConnection: keep-alive\r\n\r\n" +
			"GET /end HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
		_, err = io.WriteString(conn, raw)
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		got, err := io.ReadAll(conn)
		require.NoError(t, err)
		return string(got)
	}
	for i := range headCases {
		c := &headCases[i]
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			viaHeader := get(t, i, c, "")
			viaHead := get(t, i, c, "?head")
			// AddValidField, for the fields that pass its caller's
			// check, writes what AddField does.
			viaValid := get(t, i, c, "?valid")
			assert.False(t, refused[i].Load(), "WriteHead refused the head")
			first, _, kept := strings.Cut(viaHead, "HTTP/1.1 200 OK\r\nX-End: 1\r\n")
			assert.Equal(t, !c.closes, kept, "the connection was kept")
			for _, want := range c.want {
				assert.Contains(t, first, want)
			}
			for _, not := range c.wantNot {
				assert.NotContains(t, first, not)
			}
			assert.Equal(t, dateLine.ReplaceAllString(viaHeader, "Date: -\r\n"), dateLine.ReplaceAllString(viaHead, "Date: -\r\n"))
			assert.Equal(t, dateLine.ReplaceAllString(viaHeader, "Date: -\r\n"), dateLine.ReplaceAllString(viaValid, "Date: -\r\n"))
		})
	}
}

// TestWriteHeadRefuses: WriteHead takes only a final head not written
// yet; what it refuses writes nothing, and the fields given then are
// not sent.
func TestWriteHeadRefuses(t *testing.T) {
	t.Parallel()
	type answer struct{ informational, again bool }
	answers := make(chan answer, 1)
	addr := start(t, &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		var a answer
		a.informational = w.WriteHead(http.StatusEarlyHints)
		w.AddFieldString("X-Lost", "1")
		w.EndHead()
		w.Header().Set("Content-Length", "2")
		w.WriteHeader(http.StatusOK)
		a.again = w.WriteHead(http.StatusAccepted)
		w.AddFieldString("X-Late", "1")
		w.EndHead()
		_, _ = w.WriteString("ok")
		answers <- a
	})})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	got, err := io.ReadAll(conn)
	require.NoError(t, err)
	a := <-answers
	assert.False(t, a.informational, "WriteHead took an informational status")
	assert.False(t, a.again, "WriteHead took a second head")
	assert.True(t, strings.HasPrefix(string(got), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"), "%q", got)
	assert.NotContains(t, string(got), "X-Lost")
	assert.NotContains(t, string(got), "X-Late")
	assert.True(t, strings.HasSuffix(string(got), "\r\n\r\nok"), "%q", got)
}

// TestHeaderChecked: a request's header is Checked as the parser took
// it, and no more once a field is added, until Reset.
func TestHeaderChecked(t *testing.T) {
	t.Parallel()
	type step struct {
		checked, afterDel, afterAdd bool
	}
	got := make(chan step, 1)
	addr := start(t, &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		h := r.Header()
		var s step
		s.checked = h.Checked()
		h.Del("X-A")
		s.afterDel = h.Checked()
		h.Add("X-B", "a\r\nb")
		s.afterAdd = h.Checked()
		got <- s
		_, _ = w.WriteString("ok")
	})})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	rd := bufio.NewReader(conn)
	for range 2 {
		_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nX-A:  1 \r\nuser-agent: t\r\n\r\n")
		require.NoError(t, err)
		res, err := http.ReadResponse(rd, nil)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		// The second request of the connection starts Checked again.
		assert.Equal(t, step{checked: true, afterDel: true, afterAdd: false}, <-got)
	}
	var h h1.Header
	h.Set("X-C", "1")
	assert.False(t, h.Checked())
	h.Reset()
	assert.True(t, h.Checked())
}
