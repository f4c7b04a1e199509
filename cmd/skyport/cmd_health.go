package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// runHealth implements "skyport health": the container health check. It
// asks the data plane's status API whether a configuration is loaded and
// exits non-zero when not (the image has no shell or curl).
func runHealth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("skyport health", flag.ContinueOnError)
	listen := fs.String("status-listen", "127.0.0.1:8100", "the data plane's status address")
	timeout := fs.Duration("timeout", 2*time.Second, "how long to wait for an answer")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("--status-listen %q: %w", *listen, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	url := "http://" + net.JoinHostPort(host, port) + "/status/ready"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("asking %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d: no configuration loaded", url, resp.StatusCode)
	}
	fmt.Fprintln(stdout, "ready")
	return nil
}
