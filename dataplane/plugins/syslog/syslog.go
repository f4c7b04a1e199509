// Package syslog is Kong's syslog plugin: every request's log record
// (Kong's serializer JSON, see logrecord) goes to the local syslog daemon
// as syslog(3) sends it — a datagram (or, failing that, a stream message)
// on the local socket, "<PRI>Mmm dd hh:mm:ss kong[pid]: {…}", tagged
// "kong" as Kong's lsyslog.open does. The severity is
// successful_severity, client_errors_severity (4xx) or
// server_errors_severity (5xx); a message less severe than log_level is
// not sent. Sending is done by the plugin's queue goroutine.
package syslog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/logqueue"
	"github.com/skyport-gw/skyport/dataplane/plugins/logrecord"
)

// Name is the plugin's name.
const Name = "syslog"

// Tag is the program name messages carry (Kong's SENDER_NAME).
const Tag = "kong"

// Sockets are the local syslog sockets tried, in order, when none is set.
var Sockets = []string{"/dev/log", "/var/run/syslog", "/var/run/log"}

// severities are syslog's, by Kong's names.
var severities = map[string]int{"emerg": 0, "alert": 1, "crit": 2, "err": 3, "warning": 4, "notice": 5, "info": 6, "debug": 7}

// facilities are syslog's facility codes, by name.
var facilities = map[string]int{"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
	"news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "local0": 16, "local1": 17, "local2": 18,
	"local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23}

// Config is syslog's configuration.
type Config struct {
	LogLevel             string `json:"log_level"`
	SuccessfulSeverity   string `json:"successful_severity"`
	ClientErrorsSeverity string `json:"client_errors_severity"`
	ServerErrorsSeverity string `json:"server_errors_severity"`
	Facility             string `json:"facility"`
}

// Syslog is the handler of one plugin instance of one snapshot.
type Syslog struct {
	// Sink is the log phase, on the adapter and on the view: its Head
	// is head.
	logrecord.Sink
	conf     Config
	sockets  []string
	facility int
	level    int

	mu     sync.Mutex
	conn   net.Conn
	stream bool
}

var (
	_ plugin.Handler  = (*Syslog)(nil)
	_ plugin.Recorder = (*Syslog)(nil)
	_ io.Closer       = (*Syslog)(nil)
)

// NewFactory returns the plugin's factory; socket is the local syslog
// socket ("" tries Sockets).
func NewFactory(m *logqueue.Metrics, log *slog.Logger, socket string) plugin.Factory {
	sockets := Sockets
	if socket != "" {
		sockets = []string{socket}
	}
	return func(env plugin.Env) (plugin.Handler, error) {
		var c Config
		if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
			return nil, fmt.Errorf("building syslog: %w", err)
		}
		h := &Syslog{conf: c, sockets: sockets, facility: facilities[c.Facility], level: level(c.LogLevel)}
		h.Queue = logqueue.New(Name, logqueue.StreamParams(), h.send, m, log)
		h.Head = h.head
		return h, nil
	}
}

func level(name string) int {
	if s, ok := severities[name]; ok {
		return s
	}
	return severities["info"]
}

// Name implements plugin.Handler.
func (h *Syslog) Name() string { return Name }

// head is the Sink's Head: the message of a response is formatted now,
// with the severity for its status; false when that is less severe than
// log_level.
func (h *Syslog) head(b []byte, status int) ([]byte, bool) {
	sev := h.conf.SuccessfulSeverity
	switch {
	case status >= 500:
		sev = h.conf.ServerErrorsSeverity
	case status >= 400:
		sev = h.conf.ClientErrorsSeverity
	}
	severity := level(sev)
	if severity > h.level {
		return b, false
	}
	return appendHead(b, h.facility*8+severity, time.Now(), os.Getpid()), true
}

// appendHead appends what precedes a message's text as syslog(3) writes
// it to the local socket: "<priority>Mmm dd hh:mm:ss tag[pid]: ".
func appendHead(b []byte, priority int, t time.Time, pid int) []byte {
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(priority), 10)
	b = append(b, '>')
	b = t.AppendFormat(b, time.Stamp)
	b = append(b, ' ')
	b = append(b, Tag...)
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(pid), 10)
	return append(b, "]: "...)
}

// Close sends what is queued and closes the socket.
func (h *Syslog) Close() error {
	err := h.Queue.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.drop()
	return err
}

// send writes one message per entry, reconnecting once when the daemon
// went away (it restarted).
func (h *Syslog) send(_ context.Context, batch [][]byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, msg := range batch {
		if h.conn == nil {
			if err := h.connect(); err != nil {
				return err
			}
		}
		if h.stream {
			msg = append(msg, 0) // syslog(3) terminates stream messages
		}
		if err := h.write(msg); err != nil {
			return err
		}
	}
	return nil
}

func (h *Syslog) write(msg []byte) error {
	for attempt := 0; ; attempt++ {
		if h.conn == nil {
			if err := h.connect(); err != nil {
				return err
			}
		}
		_ = h.conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, err := h.conn.Write(msg)
		if err == nil {
			return nil
		}
		h.drop()
		if attempt > 0 {
			return fmt.Errorf("writing to syslog: %w", err)
		}
	}
}

// connect dials the first local socket that answers, as a datagram
// socket, else as a stream.
func (h *Syslog) connect() error {
	var errs []error
	for _, path := range h.sockets {
		for _, network := range []string{"unixgram", "unix"} {
			c, err := net.DialTimeout(network, path, time.Second)
			if err == nil {
				h.conn, h.stream = c, network == "unix"
				return nil
			}
			errs = append(errs, err)
		}
	}
	return fmt.Errorf("connecting to the local syslog: %w", errors.Join(errs...))
}

func (h *Syslog) drop() {
	if h.conn != nil {
		_ = h.conn.Close()
		h.conn = nil
	}
}
