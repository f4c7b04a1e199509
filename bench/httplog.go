package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// httpLogRounds is how many times the httplog section measures each data
// plane, alternating, so that the load of a shared machine weighs on both
// alike.
const httpLogRounds = 5

// httpLogResult is the httplog section: the throughput of a data plane
// without plugins and of one with http-log (batches of 100), measured in
// alternation.
type httpLogResult struct {
	none, logged []float64
}

// ratios returns each round's http-log / none throughput ratio.
func (h *httpLogResult) ratios() []float64 {
	out := make([]float64, len(h.none))
	for i := range h.none {
		out[i] = h.logged[i] / h.none[i]
	}
	return out
}

// median returns the median of the rounds' ratios.
func (h *httpLogResult) median() float64 {
	rs := h.ratios()
	slices.Sort(rs)
	if n := len(rs); n%2 == 0 {
		return (rs[n/2-1] + rs[n/2]) / 2
	}
	return rs[len(rs)/2]
}

func benchHTTPLog(ctx context.Context, e *env, o options, r *report) error {
	upPort := freePort()
	up, err := startUpstream(e.dir, upPort)
	if err != nil {
		return err
	}
	defer up.stop()
	logs, err := startLogReceiver()
	if err != nil {
		return err
	}
	defer logs.Close()
	yaml := kongYAML(upPort, 1, false)
	none, nonePx, _, err := startSkyportDP(ctx, e, "httplog-none", yaml)
	if err != nil {
		return err
	}
	defer none.stop()
	logged, loggedPx, _, err := startSkyportDP(ctx, e, "httplog-on", withHTTPLog(yaml, "http://"+logs.Addr().String()+"/logs"))
	if err != nil {
		return err
	}
	defer logged.stop()
	headers := map[string]string{"Host": benchHost(1)}
	res := &httpLogResult{}
	for round := range httpLogRounds {
		for _, m := range []struct {
			proxy string
			into  *[]float64
		}{{nonePx, &res.none}, {loggedPx, &res.logged}} {
			url := "http://" + m.proxy + "/"
			if round == 0 {
				if err := waitHTTP(ctx, url, 200, headers, 20*time.Second); err != nil {
					return err
				}
				if _, err := runWrk(url, o.conns, o.threads, 2*time.Second, headers); err != nil {
					return err
				}
			}
			w, err := runWrk(url, o.conns, o.threads, o.duration, headers)
			if err != nil {
				return err
			}
			if w.Errors > 0 {
				return fmt.Errorf("%s: %d failed requests", url, w.Errors)
			}
			*m.into = append(*m.into, w.RPS)
		}
		fmt.Fprintf(os.Stderr, "  round %d: none %.0f req/s, http-log %.0f req/s\n", round+1, res.none[round], res.logged[round])
	}
	r.httpLog = res
	return nil
}

// httpLogMarkdown renders the httplog section.
func (h *httpLogResult) markdown(o options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## http-log overhead\n\n")
	fmt.Fprintf(&b, "Two data planes on the same upstream, one without plugins and one with a global http-log "+
		"(batches of 100, `max_coalescing_delay` 0.1 s) posting to a receiver in the bench process that reads and "+
		"discards each batch (it shares the cores with wrk, the upstream and the proxies), measured in alternation, "+
		"%d rounds of `wrk -t%d -c%d -d%s`.\n\n", len(h.none), o.threads, o.conns, o.duration)
	b.WriteString("| round | no plugins (req/s) | http-log (req/s) | ratio |\n|---:|---:|---:|---:|\n")
	for i, r := range h.ratios() {
		fmt.Fprintf(&b, "| %d | %.0f | %.0f | %.2f |\n", i+1, h.none[i], h.logged[i], r)
	}
	fmt.Fprintf(&b, "\nMedian ratio: %.2f.\n\n", h.median())
	return b.String()
}
