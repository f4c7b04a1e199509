package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/skyport-gw/skyport/dataplane/proxy"
)

// limitFlags bound what clients can make a data plane hold, with nginx's
// directives (as Kong runs them) for names and defaults.
type limitFlags struct {
	HeaderBuffers    headerBuffers
	KeepaliveTimeout time.Duration
	HeaderTimeout    time.Duration
	BodyTimeout      time.Duration
	MaxBodySize      size
	BodyBufferSize   size
	TempDir          string
	H2Streams        int
}

// register adds the limits' flags to fs.
func (o *limitFlags) register(fs *flag.FlagSet) {
	o.HeaderBuffers = headerBuffers{n: proxy.DefaultHeaderBuffers, size: proxy.DefaultHeaderBufferSize}
	o.BodyBufferSize = proxy.DefaultBodyBufferSize
	fs.Var(&o.HeaderBuffers, "large-client-header-buffers", "number and size of the buffers of a request head, as nginx's: a longer request line is 414, a longer header field 400, a larger head refused")
	fs.DurationVar(&o.KeepaliveTimeout, "keepalive-timeout", proxy.DefaultKeepaliveTimeout, "close client connections idle for this long between requests (nginx keepalive_timeout)")
	fs.DurationVar(&o.HeaderTimeout, "client-header-timeout", proxy.DefaultHeaderTimeout, "close connections whose request head takes longer (nginx client_header_timeout)")
	fs.DurationVar(&o.BodyTimeout, "client-body-timeout", proxy.DefaultBodyTimeout, "answer 408 when a request body sends nothing for this long (nginx client_body_timeout)")
	fs.Var(&o.MaxBodySize, "client-max-body-size", "refuse request bodies larger than this with 413, e.g. 10m; 0 for no limit (nginx client_max_body_size, Kong's default 0)")
	fs.Var(&o.BodyBufferSize, "client-body-buffer-size", "request bodies of routes with request_buffering are kept in memory up to this, then in a temporary file (nginx client_body_buffer_size)")
	fs.IntVar(&o.H2Streams, "http2-max-concurrent-streams", proxy.DefaultH2MaxConcurrentStreams, "streams an HTTP/2 client may have open on one connection (nginx http2_max_concurrent_streams)")
	fs.StringVar(&o.TempDir, "proxy-temp-dir", "", "directory of the temporary files of buffered request and response bodies (default: $TMPDIR or /tmp)")
}

// limits returns the proxy's Limits; the temporary directory must exist.
func (o *limitFlags) limits() (proxy.Limits, error) {
	if o.TempDir != "" {
		fi, err := os.Stat(o.TempDir)
		if err != nil {
			return proxy.Limits{}, fmt.Errorf("--proxy-temp-dir: %w", err)
		}
		if !fi.IsDir() {
			return proxy.Limits{}, fmt.Errorf("--proxy-temp-dir %s: not a directory", o.TempDir)
		}
	}
	if o.H2Streams < 0 || o.H2Streams > 1<<16 {
		return proxy.Limits{}, fmt.Errorf("--http2-max-concurrent-streams %d: want 1 to 65536 (0 for the default)", o.H2Streams)
	}
	return proxy.Limits{
		H2MaxConcurrentStreams: o.H2Streams,
		HeaderBufferSize:       int(o.HeaderBuffers.size), HeaderBuffers: o.HeaderBuffers.n,
		HeaderTimeout: o.HeaderTimeout, BodyTimeout: o.BodyTimeout, KeepaliveTimeout: o.KeepaliveTimeout,
		MaxBodySize: int64(o.MaxBodySize), BodyBufferSize: int(o.BodyBufferSize), TempDir: o.TempDir,
	}, nil
}

// size is a byte count written as nginx writes sizes: 512, 8k, 10m, 1g.
type size int64

// maxSize keeps sizes where every use of them is safe.
const maxSize = 1 << 40

// String implements flag.Value.
func (s *size) String() string {
	if s == nil {
		return "0"
	}
	return formatSize(int64(*s))
}

// Set implements flag.Value.
func (s *size) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s = size(n)
	return nil
}

func parseSize(v string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(v))
	mult := int64(1)
	switch {
	case strings.HasSuffix(t, "k"):
		mult, t = 1<<10, t[:len(t)-1]
	case strings.HasSuffix(t, "m"):
		mult, t = 1<<20, t[:len(t)-1]
	case strings.HasSuffix(t, "g"):
		mult, t = 1<<30, t[:len(t)-1]
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > maxSize/mult {
		return 0, fmt.Errorf("%q: want a size such as 512, 8k, 10m or 1g", v)
	}
	return n * mult, nil
}

func formatSize(n int64) string {
	switch {
	case n != 0 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "g"
	case n != 0 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "m"
	case n != 0 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "k"
	}
	return strconv.FormatInt(n, 10)
}

// headerBuffers is nginx's large_client_header_buffers value: "4 8k".
type headerBuffers struct {
	n    int
	size int64
}

// String implements flag.Value.
func (h *headerBuffers) String() string {
	if h == nil {
		return ""
	}
	return fmt.Sprintf("%d %s", h.n, formatSize(h.size))
}

// errHeaderBuffers is the one message for a bad --large-client-header-buffers.
var errHeaderBuffers = errors.New("want a number and a size such as \"4 8k\" (at least 1 × 1k, at most 64 × 1m)")

// Set implements flag.Value.
func (h *headerBuffers) Set(v string) error {
	f := strings.Fields(v)
	if len(f) != 2 {
		return fmt.Errorf("%q: %w", v, errHeaderBuffers)
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 1 || n > 64 {
		return fmt.Errorf("%q: %w", v, errHeaderBuffers)
	}
	sz, err := parseSize(f[1])
	if err != nil || sz < 1<<10 || sz > 1<<20 {
		return fmt.Errorf("%q: %w", v, errHeaderBuffers)
	}
	h.n, h.size = n, sz
	return nil
}
