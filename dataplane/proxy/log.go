package proxy

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/internal/jsontext"
)

// recorder remembers the status and size of the response sent.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

// WriteHeader records the final status.
func (w *recorder) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write counts the bytes sent.
func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush implements http.Flusher for streamed responses.
func (w *recorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (WebSocket
// upgrades hijack it).
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish reports the request to the observer, the plugins' loggers and
// the access log.
func (s *Server) finish(w *recorder, r *http.Request, ex *exchange) {
	status, end, up, px, route, svc := s.observe(w, ex, true)
	if ex.pc != nil {
		ex.c.plugins.Log(ex.pc, s.logEntry(w, r, ex, status, up, px, end))
	}
	if s.opts.AccessLog == nil {
		if s.opts.AccessLogWriter != nil {
			s.writeAccessLine(r.Method, r.URL.Path, ex, end, status, route, svc, w.bytes, up, px)
		}
		return
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.String("client_ip", ex.clientIP),
		slog.String("route", route), slog.String("service", svc),
		slog.Int64("bytes", w.bytes),
		slog.Int64("latency_total_ms", end.Sub(ex.start).Milliseconds()),
		slog.Int64("latency_upstream_ms", up.Milliseconds()),
		slog.Int64("latency_proxy_ms", px.Milliseconds()),
	}
	if ex.target != nil {
		attrs = append(attrs, slog.String("target", ex.target.Name))
	}
	if ex.retries > 0 {
		attrs = append(attrs, slog.Int("retries", ex.retries))
	}
	if ex.err != nil {
		attrs = append(attrs, slog.String("error", ex.err.Error()))
	}
	s.opts.AccessLog.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
}

// observe ends the request: its status, end time, upstream and proxy
// latencies and the labels of its route and service; the Observer is
// given them. The end time is read only when the caller needs it (needEnd)
// or the proxy latency does (nothing was sent): zero otherwise, a clock
// read saved.
func (s *Server) observe(w *recorder, ex *exchange, needEnd bool) (status int, end time.Time, up, px time.Duration, route, svc string) {
	status = w.status
	if status == 0 {
		status = ex.status
	}
	if needEnd || ex.sent.IsZero() {
		end = time.Now()
	}
	if !ex.sent.IsZero() {
		px = ex.sent.Sub(ex.start)
		if !ex.received.IsZero() {
			up = ex.received.Sub(ex.sent)
		}
	} else {
		px = end.Sub(ex.start)
	}
	if ex.svc != nil {
		svc = ex.svc.label
	}
	if ex.match != nil {
		route = ex.match.Route.ID
		if n := ex.match.Route.Name; n != nil && *n != "" {
			route = *n
		}
	}
	if s.opts.Observer != nil {
		s.series(ex, svc, route).Observe(status, up, px)
	}
	return status, end, up, px, route, svc
}

// series returns the Observer's Series of ex's route and service
// (labeled route and svc), kept with the configuration.
func (s *Server) series(ex *exchange, svc, route string) Series {
	if ex.c == nil {
		return s.opts.Observer.Series(svc, route)
	}
	k := seriesKey{svc: ex.svc}
	if ex.match != nil {
		k.route = ex.match.Route
	}
	m := ex.memo
	if m != nil && m.gen == ex.c.gen && m.key == k && m.series != nil {
		return m.series
	}
	v, ok := ex.c.series.Load(k)
	if !ok {
		v, _ = ex.c.series.LoadOrStore(k, s.opts.Observer.Series(svc, route))
	}
	if m != nil {
		m.gen, m.key, m.series = ex.c.gen, k, v.(Series)
	}
	return v.(Series)
}

// logEntry describes the finished request to the plugins' loggers.
func (s *Server) logEntry(w *recorder, r *http.Request, ex *exchange, status int, up, px time.Duration, end time.Time) *plugin.LogEntry {
	e := &plugin.LogEntry{Request: r, Status: status, Bytes: w.bytes, Upstream: up, Proxy: px,
		Total: end.Sub(ex.start), RequestID: ex.requestID(), Scheme: ex.scheme, Host: ex.host, Port: ex.port,
		ResponseHeader: w.Header(), Tries: ex.tries, Proxied: !ex.received.IsZero()}
	if ex.upstreamPath != "" {
		e.UpstreamURI = ex.upstreamPath
		if r.URL.RawQuery != "" || r.URL.ForceQuery {
			e.UpstreamURI += "?" + r.URL.RawQuery
		}
	}
	if e.Proxied {
		e.UpstreamStatus = ex.status
		e.Receive = max(e.Total-px-up, 0)
	}
	if e.Scheme == "" {
		e.Scheme = "http"
		if r.TLS != nil {
			e.Scheme = "https"
		}
	}
	return e
}

// filter runs the plugins' header filters on an upstream response and,
// when one of them needs it, buffers the body through their body filters.
func (s *Server) filter(ex *exchange, res *http.Response) error {
	set := ex.c.plugins
	set.Header(ex.pc, res.StatusCode, res.Header)
	if status := ex.pc.HeaderExit(); status != 0 {
		res.Body.Close()
		res.StatusCode, res.Status = status, ""
		res.Body, res.ContentLength = http.NoBody, 0
		res.Header["Content-Length"] = []string{"0"}
		res.Header.Del("Transfer-Encoding")
		ex.status = status
		return nil
	}
	if res.StatusCode == http.StatusSwitchingProtocols || !set.NeedsBody(ex.pc, res.StatusCode, res.Header) {
		return nil
	}
	var body []byte
	var err error
	if limit := set.BodyLimit(ex.pc, res.StatusCode, res.Header); limit > 0 {
		// Only bounded filters want it: past their limit the body
		// streams on, untouched.
		body, err = io.ReadAll(io.LimitReader(res.Body, limit+1))
		if err == nil && int64(len(body)) > limit {
			set.BodyTooLarge(ex.pc)
			res.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(body), res.Body), res.Body}
			return nil
		}
	} else {
		limit := s.limits.FilterBodySize
		body, err = io.ReadAll(io.LimitReader(res.Body, limit+1))
		if err == nil && int64(len(body)) > limit {
			err = fmt.Errorf("upstream response body over %d bytes, the bound of a body-filtering plugin", limit)
		}
	}
	res.Body.Close()
	if err != nil {
		return err
	}
	body = set.Body(ex.pc, res.Header, body)
	res.Body = io.NopCloser(bytes.NewReader(body))
	res.ContentLength = int64(len(body))
	res.Header.Set("Content-Length", strconv.Itoa(len(body)))
	res.Header.Del("Transfer-Encoding")
	return nil
}

// linePool recycles the buffers access log lines are encoded in.
var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// writeAccessLine encodes the access log line AccessLog would get for a
// request of method to path (decoded), as slog's JSON handler writes it,
// and hands it to AccessLogWriter.
func (s *Server) writeAccessLine(method, path string, ex *exchange, end time.Time, status int,
	route, svc string, bytes int64, up, px time.Duration) {
	bp := linePool.Get().(*[]byte)
	b := append((*bp)[:0], `{"time":"`...)
	b = s.lineTime.appendTime(b, end)
	b = append(b, `","level":"INFO","msg":"request","method":`...)
	b = jsontext.AppendString(b, method)
	b = append(b, `,"path":`...)
	b = jsontext.AppendString(b, path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"client_ip":`...)
	b = jsontext.AppendString(b, ex.clientIP)
	b = append(b, `,"route":`...)
	b = jsontext.AppendString(b, route)
	b = append(b, `,"service":`...)
	b = jsontext.AppendString(b, svc)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, bytes, 10)
	b = append(b, `,"latency_total_ms":`...)
	b = strconv.AppendInt(b, end.Sub(ex.start).Milliseconds(), 10)
	b = append(b, `,"latency_upstream_ms":`...)
	b = strconv.AppendInt(b, up.Milliseconds(), 10)
	b = append(b, `,"latency_proxy_ms":`...)
	b = strconv.AppendInt(b, px.Milliseconds(), 10)
	if ex.target != nil {
		b = append(b, `,"target":`...)
		b = jsontext.AppendString(b, ex.target.Name)
	}
	if ex.retries > 0 {
		b = append(b, `,"retries":`...)
		b = strconv.AppendInt(b, int64(ex.retries), 10)
	}
	if ex.err != nil {
		b = append(b, `,"error":`...)
		b = jsontext.AppendString(b, ex.err.Error())
	}
	b = append(b, "}\n"...)
	_, _ = s.opts.AccessLogWriter.Write(b)
	if cap(b) <= 4<<10 {
		*bp = b
		linePool.Put(bp)
	}
}
