package main

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkResult is one wrk run.
type wrkResult struct {
	RPS      float64
	P50, P99 time.Duration
	Requests int64
	// Errors counts socket errors and non-2xx/3xx responses.
	Errors int64
}

// runWrk runs wrk with keep-alive connections against url.
func runWrk(url string, conns, threads int, d time.Duration, headers map[string]string) (wrkResult, error) {
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", d.String(), "--latency"}
	for k, v := range headers {
		args = append(args, "-H", k+": "+v)
	}
	args = append(args, url)
	out, err := exec.Command("wrk", args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w: %s", url, err, out)
	}
	return parseWrk(string(out))
}

var (
	reRPS     = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	reReqs    = regexp.MustCompile(`(\d+) requests in`)
	reNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reSocket  = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	rePercent = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)`)
)

func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := reRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in wrk output: %s", out)
	}
	r.RPS, _ = strconv.ParseFloat(m[1], 64)
	if m := reReqs.FindStringSubmatch(out); m != nil {
		r.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reNon2xx.FindStringSubmatch(out); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		r.Errors += n
	}
	if m := reSocket.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.Errors += n
		}
	}
	for _, m := range rePercent.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[3]]
		d := time.Duration(v * float64(unit))
		if m[1] == "50" {
			r.P50 = d
		} else {
			r.P99 = d
		}
	}
	if strings.Contains(out, "unable to connect") {
		return r, fmt.Errorf("wrk could not connect: %s", out)
	}
	return r, nil
}
