package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
)

// Soft memory limits of skyport local (--memory-limit auto). Go's
// collector otherwise lets the heap grow to twice what is live between
// two collections: loading and publishing a million entities keeps
// 500–700 MB live at its peak, and the process would reach 1.2–1.4 GB.
// Under the limit the collector runs sooner instead; it never refuses an
// allocation (a heap that needs more goes above it, the collector then
// taking at most about half the CPU), so a larger configuration is only
// slower, never stopped.
const (
	// defaultCPMemoryLimit is the control plane's: a million entities'
	// load and publication fit in it with room for collection.
	defaultCPMemoryLimit = 768 << 20
	// defaultDPMemoryLimit is added with the built-in data plane (--dp),
	// which holds the running configuration again, compiled.
	defaultDPMemoryLimit = 768 << 20
	// minMemoryLimit is the smallest limit taken: under it the collector
	// would run nearly all the time, for no configuration's benefit.
	minMemoryLimit = 64 << 20
)

// memoryLimit is --memory-limit: a size (512m, 2g), 0 for none, or auto
// (defaultCPMemoryLimit, plus defaultDPMemoryLimit with --dp).
func (o *localOptions) memoryLimit() (int64, error) {
	if v := strings.ToLower(strings.TrimSpace(o.MemoryLimit)); v == "auto" {
		n := int64(defaultCPMemoryLimit)
		if o.DP {
			n += defaultDPMemoryLimit
		}
		return n, nil
	}
	n, err := parseSize(o.MemoryLimit)
	if err != nil {
		return 0, fmt.Errorf("--memory-limit %w (or auto, 0 for none)", err)
	}
	if n > 0 && n < minMemoryLimit {
		return 0, fmt.Errorf("--memory-limit %q: want at least 64m (or auto, 0 for none)", o.MemoryLimit)
	}
	return n, nil
}

// setMemoryLimit sets the runtime's soft memory limit to n bytes (none
// when 0). GOMEMLIMIT in the environment, which the runtime applied at
// start, wins over the flag.
func setMemoryLimit(n int64, log *slog.Logger) {
	if env := os.Getenv("GOMEMLIMIT"); env != "" {
		log.Debug("GOMEMLIMIT is set; --memory-limit is not applied", "GOMEMLIMIT", env)
		return
	}
	if n > 0 {
		debug.SetMemoryLimit(n)
		log.Debug("soft memory limit", "bytes", n)
	}
}
