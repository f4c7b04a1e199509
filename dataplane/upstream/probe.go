package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// probeLoop runs active health checks until ctx is done: healthy targets
// every healthy.interval, unhealthy ones every unhealthy.interval (an
// interval of 0 disables that half).
func (p *Pool) probeLoop(ctx context.Context, healthy bool, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var due []*Target
		for _, t := range p.targets {
			if t.Weight > 0 && t.Healthy() == healthy {
				due = append(due, t)
			}
		}
		p.probeAll(ctx, due)
	}
}

// probeAll probes targets, at most healthchecks.active.concurrency at once.
func (p *Pool) probeAll(ctx context.Context, targets []*Target) {
	sem := make(chan struct{}, max(1, p.up.Healthchecks.Active.Concurrency))
	var wg sync.WaitGroup
	for _, t := range targets {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			o, status := p.probe(ctx, t)
			if t.health.record(&p.activeTh, o, status) {
				p.logChange(t, "active")
			}
		})
	}
	wg.Wait()
}

// probe sends one active check to t: a TCP connect for type tcp, else a
// GET of http_path.
func (p *Pool) probe(ctx context.Context, t *Target) (Outcome, int) {
	a := &p.up.Healthchecks.Active
	timeout := time.Duration(a.Timeout * float64(time.Second))
	if timeout <= 0 {
		timeout = time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr, err := t.Addr(ctx, p.resolver)
	if err != nil {
		return TCPFailure, 0
	}
	if a.Type == "tcp" {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return classify(err), 0
		}
		c.Close()
		return Success, 0
	}
	scheme := "http"
	if a.Type == "https" || a.Type == "grpcs" {
		scheme = "https"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+addr+a.HTTPPath, nil)
	if err != nil {
		return TCPFailure, 0
	}
	for k, vs := range a.Headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Host = t.Host
	if (scheme == "http" && t.Port != 80) || (scheme == "https" && t.Port != 443) {
		req.Host = net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	}
	resp, err := p.probeClient.Do(req)
	if err != nil {
		return classify(err), 0
	}
	resp.Body.Close()
	return Response, resp.StatusCode
}

func classify(err error) Outcome {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout()) {
		return Timeout
	}
	return TCPFailure
}

// newProbeClient returns the client of active checks: no keep-alive (every
// probe opens a connection, as Kong's do) and certificate verification as
// https_verify_certificate says.
func newProbeClient(verify bool, sni string) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: !verify, ServerName: sni}, //nolint:gosec // Kong's https_verify_certificate
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
