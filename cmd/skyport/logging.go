package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/skyport-gw/skyport/dataplane/proxy"
)

// logFlags choose the process's one logger: its format and level. Every
// component logs through it to standard error, one line per event.
type logFlags struct {
	Format string
	Level  string
}

func (o *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.Format, "log-format", "", "text or json (default: text on a terminal, json otherwise)")
	fs.StringVar(&o.Level, "log-level", "info", "debug, info, warn or error")
}

// check refuses an unknown format or level.
func (o *logFlags) check() error {
	switch o.Format {
	case "", "text", "json":
	default:
		return fmt.Errorf("--log-format %q: want text or json", o.Format)
	}
	if _, err := parseLevel(o.Level); err != nil {
		return err
	}
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil || strings.ContainsAny(s, "+-") {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// format is the format in effect for logs written to w.
func (o *logFlags) format(w io.Writer) string {
	if o.Format != "" {
		return o.Format
	}
	if isTerminal(w) {
		return "text"
	}
	return "json"
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// logger returns the process's logger, writing to w.
func (o *logFlags) logger(w io.Writer) *slog.Logger {
	level, _ := parseLevel(o.Level)
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if o.format(w) == "text" {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(&componentHandler{inner: h})
}

// componentHandler keeps one "component" attribute per line: a
// component given inside another (the data plane's certificate manager,
// certmagic's maintenance in it) is joined to it with dots
// (component=dp.certs.certmagic.maintenance) instead of repeating the key.
type componentHandler struct {
	inner     slog.Handler
	component string
	// grouped is set once a group is open: its attributes, component
	// included, belong to the group.
	grouped bool
}

var _ slog.Handler = (*componentHandler)(nil)

const componentKey = "component"

func joinComponent(outer, inner string) string {
	if outer == "" {
		return inner
	}
	if inner == "" {
		return outer
	}
	return outer + "." + inner
}

func (h *componentHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *componentHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if h.grouped {
		return &componentHandler{inner: h.inner.WithAttrs(attrs), grouped: true}
	}
	c := h.component
	rest := make([]slog.Attr, 0, len(attrs))
	for _, a := range attrs {
		if a.Key == componentKey {
			c = joinComponent(c, a.Value.String())
			continue
		}
		rest = append(rest, a)
	}
	return &componentHandler{inner: h.inner.WithAttrs(rest), component: c}
}

func (h *componentHandler) WithGroup(name string) slog.Handler {
	inner := h.inner
	if h.component != "" && !h.grouped {
		inner = inner.WithAttrs([]slog.Attr{slog.String(componentKey, h.component)})
	}
	return &componentHandler{inner: inner.WithGroup(name), grouped: true}
}

func (h *componentHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.grouped {
		return h.inner.Handle(ctx, r)
	}
	c := h.component
	own := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == componentKey {
			own = true
			return false
		}
		return true
	})
	if !own && c == "" {
		return h.inner.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	var attrs []slog.Attr
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == componentKey {
			c = joinComponent(c, a.Value.String())
		} else {
			attrs = append(attrs, a)
		}
		return true
	})
	out.AddAttrs(slog.String(componentKey, c))
	out.AddAttrs(attrs...)
	return h.inner.Handle(ctx, out)
}

// accessLog is where a data plane's access log goes: --access-log off,
// stdout, or a file appended to. Lines are JSON, or text when the
// process logs text.
type accessLog struct {
	// Set on the proxy's options: one of them, or neither when off.
	logger *slog.Logger
	writer io.Writer
	close  func() error
}

// checkAccessLog refuses an empty --access-log.
func checkAccessLog(dest string) error {
	switch strings.ToLower(strings.TrimSpace(dest)) {
	case "":
		return fmt.Errorf("--access-log %q: want off, stdout or a file path", dest)
	case "true", "false", "1", "0":
		// The flag was a boolean once: a file named "false" is never what
		// was meant.
		return fmt.Errorf("--access-log %q: want off, stdout or a file path (the flag is no longer a boolean)", dest)
	}
	return nil
}

// openAccessLog opens dest (off, stdout or a path); format is the
// process's log format. Lines are batched in memory and written from a
// goroutine of their own, so a request never waits on the destination.
func openAccessLog(dest, format string, stdout io.Writer) (*accessLog, error) {
	if err := checkAccessLog(dest); err != nil {
		return nil, err
	}
	if dest == "off" {
		return &accessLog{close: func() error { return nil }}, nil
	}
	w := stdout
	var file *os.File
	if dest != "stdout" {
		f, err := os.OpenFile(dest, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return nil, fmt.Errorf("--access-log: %w", err)
		}
		w, file = f, f
	}
	lw := proxy.NewLogWriter(w)
	a := &accessLog{close: func() error {
		lw.Close()
		if file != nil {
			return file.Close()
		}
		return nil
	}}
	if format == "text" {
		a.logger = slog.New(slog.NewTextHandler(lw, nil))
	} else {
		a.writer = lw
	}
	return a, nil
}
