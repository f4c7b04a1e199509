package admin

import (
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// proxyHeaders are the headers a proxy adds to what it forwards (Skyport's
// data plane sets X-Forwarded-* and Via on every proxied request).
var proxyHeaders = []string{
	"Via", "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
	"X-Forwarded-Port", "X-Forwarded-Path", "X-Forwarded-Prefix", "X-Real-Ip",
}

// LocalGuard protects an Admin API that runs without a token on a
// loopback address (skyport local's default): loopback is its only
// protection, so it answers only clients that are really on this machine
// and really meant to call it. It refuses, with 403 and Kong's
// {"message": …}:
//
//   - requests that came through a proxy (any of Via, Forwarded,
//     X-Forwarded-*, X-Real-IP): the data plane's proxy listens on every
//     interface, and a route to the Admin API would open it to anyone;
//   - a Host that is not a loopback name or address (localhost,
//     *.localhost, 127.0.0.0/8, ::1): a DNS-rebinding page reaches
//     127.0.0.1 under its own name;
//   - an Origin other than the Admin API's own, or a Sec-Fetch-Site other
//     than same-origin or none: a browser sends them on every cross-site
//     write, forms included, so a page cannot post to the API (CSRF);
//   - a write with a body that is text/plain or has no content type,
//     which a browser may send cross-site without a preflight and the
//     Admin API has no use for (defence in depth for browsers that send
//     no Origin).
//
// curl, decK and go-kong send JSON or forms with no Origin and keep
// working unchanged. With an admin token the token is the guard: do not
// wrap the handler then (and never in AWS, where API Gateway adds
// X-Forwarded-For to every request).
func LocalGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if msg := refusal(r); msg != "" {
			writeJSON(w, http.StatusForbidden, message(msg))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// refusal returns why r is refused, or "".
func refusal(r *http.Request) string {
	for _, h := range proxyHeaders {
		if _, ok := r.Header[h]; ok {
			return "the Admin API has no token, so it answers direct local clients only: this request came through a proxy (" + h + "); set an admin token to allow it"
		}
	}
	if !loopbackHost(r.Host) {
		return "the Admin API has no token, so it answers requests for localhost only, not for host " + r.Host
	}
	if o, ok := r.Header["Origin"]; ok && !sameOrigin(r, o) {
		return "cross-origin requests are refused by an Admin API without a token"
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return "cross-site requests are refused by an Admin API without a token"
	}
	if writes(r.Method) && r.ContentLength != 0 {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt == "" || mt == "text/plain" {
			return "send the body as application/json, a form or YAML: text/plain and bodies without a content type are refused by an Admin API without a token"
		}
	}
	return ""
}

func writes(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// loopbackHost reports whether a Host header names this machine only.
func loopbackHost(hostport string) bool {
	if hostport == "" {
		return true // HTTP/1.0 with no Host: not a browser
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sameOrigin reports whether the Origin header names the Admin API itself:
// its scheme and the request's Host (the Host is already known to be
// loopback).
func sameOrigin(r *http.Request, origin []string) bool {
	if len(origin) != 1 {
		return false
	}
	u, err := url.Parse(origin[0])
	if err != nil || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return strings.EqualFold(u.Scheme, scheme) && strings.EqualFold(withPort(u.Host, scheme), withPort(r.Host, scheme))
}

// withPort adds the scheme's default port to a host that has none.
func withPort(host, scheme string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	port := "80"
	if scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port)
}
