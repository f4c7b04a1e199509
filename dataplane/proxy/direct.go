package proxy

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"strings"
)

// direct reports whether the request can be forwarded by forward rather
// than ReverseProxy: a request h1Client sends (not an upgrade; see
// takes). Its query goes as the client sent it, ';' included, as nginx
// sends $args: forward copies the URL, where ReverseProxy would drop the
// pairs with ';' (its rewrite puts them back).
func direct(r *http.Request, svc *service) bool {
	if svc.grpc {
		return false
	}
	_, upgrade := r.Header["Upgrade"]
	return !upgrade
}

// hopHeaders are the hop-by-hop header fields, which are not forwarded
// (RFC 9110 section 7.6.1).
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// Shared header values; never modified.
var (
	emptyValue    = []string{""}
	trailersValue = []string{"trailers"}
)

// forward does what ReverseProxy does for the requests direct accepts,
// with fewer copies: it builds the upstream request, sends it through
// RoundTrip (retries, balancing), runs respond on the response and copies
// it to the client, flushing whenever the upstream pauses.
func (s *Server) forward(w *recorder, r *http.Request, ex *exchange) {
	ctx := context.WithValue(r.Context(), exchangeKey{}, ex)
	out := r.WithContext(ctx)
	u := *r.URL
	out.URL = &u
	out.Close = false
	out.Header = forwardHeader(r.Header)
	s.prepare(ex, r, out)
	ex.direct = true

	res, err := s.RoundTrip(out)
	if err != nil {
		s.proxyError(w, out, err)
		return
	}
	s.relay(w, ex, res, func(err error) { s.proxyError(w, out, err) })
}

// relay answers the client with the upstream's response res to the
// exchange ex: the headers decorated, the body copied, flushed whenever
// the upstream pauses, and the trailers. An error before anything was
// written goes to fail, which answers it.
func (s *Server) relay(w *recorder, ex *exchange, res *http.Response, fail func(error)) {
	if res.StatusCode == http.StatusSwitchingProtocols {
		res.Body.Close()
		fail(errors.New("upstream switched protocols without an upgrade requested"))
		return
	}
	removeHopHeaders(res.Header)
	if err := s.decorate(ex, res); err != nil {
		res.Body.Close()
		fail(err)
		return
	}
	var h http.Header
	if a, ok := w.ResponseWriter.(*frontWriter); ok && a.adopt(res.Header) {
		// The client's response takes the upstream's fields as they are.
		h = res.Header
	} else {
		h = w.Header()
		for k, vv := range res.Header {
			if prior, ok := h[k]; ok {
				h[k] = append(prior, vv...)
			} else {
				h[k] = vv
			}
		}
	}
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		h.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(res.StatusCode)
	if err := s.copyBody(w, res); err != nil {
		res.Body.Close()
		// The client cannot be told: the response is cut short, as
		// ReverseProxy does.
		panic(http.ErrAbortHandler)
	}
	res.Body.Close() // now, to read the trailers
	if ex.body.unread() {
		// The upstream answered before the whole body: the client gets
		// the answer now, while the request's end waits for the body's.
		w.Flush()
	}
	if len(res.Trailer) == 0 {
		return
	}
	w.Flush()
	if len(res.Trailer) == announced {
		for k, vv := range res.Trailer {
			h[k] = append(h[k], vv...)
		}
		return
	}
	for k, vv := range res.Trailer {
		k = http.TrailerPrefix + k
		for _, v := range vv {
			h.Add(k, v)
		}
	}
}

// copyBody copies the response body to the client. An event stream or a
// body of unknown length is flushed after every read; another body when
// the upstream pauses (a read returned less than the buffer holds).
func (s *Server) copyBody(w *recorder, res *http.Response) error {
	stream := res.ContentLength == -1
	if !stream {
		if ct := res.Header["Content-Type"]; len(ct) > 0 {
			stream = eventStream(ct[0])
		}
	}
	return s.copyFrom(w, res.Body, stream)
}

// eventStream reports whether the Content-Type ct is text/event-stream.
func eventStream(ct string) bool {
	if !strings.HasPrefix(ct, "text/event-stream") {
		return false
	}
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "text/event-stream"
}

// copyFrom copies body to the client as copyBody says, flushing after
// every read when stream.
func (s *Server) copyFrom(w *recorder, body io.Reader, stream bool) error {
	bp := s.bufs.get()
	defer s.bufs.put(bp)
	buf := *bp
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			if stream || (rerr == nil && n < len(buf)) {
				w.Flush()
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// forwardHeader copies the client's header fields for the upstream, less
// the hop-by-hop ones (and those Connection names) and the X-Forwarded-*
// ones prepare sets; "Te: trailers" is kept. Values are shared with the
// client's request, not copied.
func forwardHeader(in http.Header) http.Header {
	out := make(http.Header, len(in)+9)
	for k, vv := range in {
		if hopOrForwarded(k) {
			continue
		}
		out[k] = vv
	}
	for _, v := range in["Connection"] {
		for f := range strings.SplitSeq(v, ",") {
			if f = textproto.TrimString(f); f != "" {
				delete(out, textproto.CanonicalMIMEHeaderKey(f))
			}
		}
	}
	for _, v := range in["Te"] {
		if hasToken(v, "trailers") {
			out["Te"] = trailersValue
			break
		}
	}
	if _, ok := out["User-Agent"]; !ok {
		out["User-Agent"] = emptyValue
	}
	return out
}

// hopOrForwarded reports whether the client's field key (canonical) is
// not forwarded as the client sent it: a hop-by-hop one, Expect (which
// nginx answers and never forwards), Forwarded, or one of the
// X-Forwarded-* and X-Real-Ip that prepare sets from its own (or drops:
// X-Forwarded-Prefix on a route that strips none). forwardHeader and the
// native path's appendForwarded both apply this one rule.
func hopOrForwarded(key string) bool {
	switch key {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Expect", "Forwarded",
		"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port", "X-Forwarded-Path",
		"X-Forwarded-Prefix", "X-Real-Ip":
		return true
	}
	return false
}

// removeHopHeaders deletes the hop-by-hop fields of a response and those
// its Connection field names.
func removeHopHeaders(h http.Header) {
	for _, v := range h["Connection"] {
		for f := range strings.SplitSeq(v, ",") {
			if f = textproto.TrimString(f); f != "" {
				delete(h, textproto.CanonicalMIMEHeaderKey(f))
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

// hasToken reports whether the comma-separated list v holds token, in any
// case.
func hasToken(v, token string) bool {
	for f := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(textproto.TrimString(f), token) {
			return true
		}
	}
	return false
}
