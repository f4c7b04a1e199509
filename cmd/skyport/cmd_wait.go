package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// waitOptions are the flags of "skyport wait".
type waitOptions struct {
	Revision  int64
	StatusURL string
	Timeout   time.Duration
	// every is the pause between two questions; not a flag.
	every time.Duration
}

// runWait implements "skyport wait": it returns once the data plane at
// --status-url runs --revision or a newer one (the revision an Admin API
// write answered in X-Skyport-Revision), and fails when --timeout passes
// first or the data plane refused that revision.
func runWait(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o := waitOptions{every: 50 * time.Millisecond}
	fs := flag.NewFlagSet("skyport wait", flag.ContinueOnError)
	fs.Int64Var(&o.Revision, "revision", 0, "the revision to wait for (an Admin API write's X-Skyport-Revision header); required")
	fs.StringVar(&o.StatusURL, "status-url", "http://127.0.0.1:8100", "the data plane's status API")
	fs.DurationVar(&o.Timeout, "timeout", time.Minute, "how long to wait")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: skyport wait --revision N [--status-url URL] [--timeout D]\n\n"+
			"Waits until the data plane runs revision N or a newer one.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseOnlyFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 0 || o.Revision < 1 {
		fmt.Fprintln(stderr, "skyport wait: --revision N (at least 1) is required")
		fs.Usage()
		return errUsage
	}
	u, err := url.Parse(o.StatusURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--status-url %q: want http://host:port", o.StatusURL)
	}
	if err := waitRevision(ctx, o); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "revision %d applied\n", o.Revision)
	return nil
}

// errRefused is a data plane's refusal of the revision waited for.
var errRefused = errors.New("refused")

// waitRevision asks /status/ready?revision=N until it answers 200.
func waitRevision(ctx context.Context, o waitOptions) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	ready := strings.TrimSuffix(o.StatusURL, "/") + "/status/ready?revision=" + strconv.FormatInt(o.Revision, 10)
	var last string
	for {
		done, why, err := askReady(ctx, ready)
		switch {
		case done:
			return nil
		case errors.Is(err, errRefused):
			return fmt.Errorf("%s: %s", o.StatusURL, why)
		case err != nil:
			last = err.Error()
		default:
			last = why
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("revision %d not applied by %s within %s: %s", o.Revision, o.StatusURL, o.Timeout, last)
		case <-time.After(o.every):
		}
	}
}

// askReady asks once: done on 200; otherwise why not, and errRefused when
// the data plane refused the revision (no point in waiting).
func askReady(ctx context.Context, url string) (done bool, why string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, "", err
	}
	defer resp.Body.Close()
	var body struct {
		Message          string `json:"message"`
		RejectedRevision int64  `json:"rejected_revision"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	switch {
	case resp.StatusCode == http.StatusOK:
		return true, "", nil
	case resp.StatusCode == http.StatusServiceUnavailable && body.RejectedRevision > 0:
		return false, body.Message, errRefused
	case resp.StatusCode == http.StatusServiceUnavailable:
		return false, body.Message, nil
	}
	return false, "", fmt.Errorf("%s answered %d: %s", url, resp.StatusCode, body.Message)
}
