package upstream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skyport-gw/skyport/internal/model"
)

// ErrResolve reports a target whose host name did not resolve.
var ErrResolve = errors.New("name resolution failed")

// Target is one backend of a pool: a host name or IP and a port, with a
// weight, a health state and its resolved addresses.
type Target struct {
	// Name is the target as configured, host:port.
	Name string
	// Host and Port are Name split; Host is lowercase.
	Host string
	Port int
	// Weight is the share of traffic; 0 disables the target.
	Weight int

	isIP     bool
	addrs    atomic.Pointer[[]string]
	next     atomic.Uint32
	active   atomic.Int64
	ewma     atomic.Int64 // latency in microseconds, for the latency algorithm
	health   health
	resolveM sync.Mutex
}

// parseTarget splits "host:port"; the port defaults to Kong's
// (model.DefaultTargetPort).
func parseTarget(s string, weight int) (*Target, error) {
	host, port := s, model.DefaultTargetPort
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("target %q: invalid port", s)
		}
		host, port = h, n
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	}
	host = strings.ToLower(host)
	if host == "" {
		return nil, fmt.Errorf("target %q: empty host", s)
	}
	t := &Target{Name: net.JoinHostPort(host, strconv.Itoa(port)), Host: host, Port: port, Weight: weight}
	if ip, err := netip.ParseAddr(host); err == nil {
		t.isIP = true
		t.addrs.Store(&[]string{net.JoinHostPort(ip.String(), strconv.Itoa(port))})
	}
	t.health.healthy.Store(true)
	return t, nil
}

// Addr returns one resolved ip:port of the target, rotating over its
// addresses. A host name that was never resolved is resolved now.
func (t *Target) Addr(ctx context.Context, r *net.Resolver) (string, error) {
	list := t.addrs.Load()
	if list == nil || len(*list) == 0 {
		if err := t.resolve(ctx, r); err != nil {
			return "", err
		}
		list = t.addrs.Load()
	}
	l := *list
	if len(l) == 1 {
		return l[0], nil
	}
	return l[int(t.next.Add(1))%len(l)], nil
}

// resolve looks the host name up and stores its addresses; on failure the
// previous addresses (if any) are kept, as Kong keeps stale records.
func (t *Target) resolve(ctx context.Context, r *net.Resolver) error {
	if t.isIP {
		return nil
	}
	t.resolveM.Lock()
	defer t.resolveM.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := r.LookupIPAddr(ctx, t.Host)
	if err != nil || len(ips) == 0 {
		if err == nil {
			err = errors.New("no addresses")
		}
		return fmt.Errorf("resolving %s: %w: %w", t.Host, ErrResolve, err)
	}
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = net.JoinHostPort(ip.IP.String(), strconv.Itoa(t.Port))
	}
	t.addrs.Store(&out)
	return nil
}

// Healthy reports the target's health state.
func (t *Target) Healthy() bool { return t.health.healthy.Load() }

// usable reports whether the balancer may pick the target.
func (t *Target) usable() bool { return t.Weight > 0 && t.Healthy() }

// Done releases a pick: it ends the request counted against the target by
// least-connections and feeds the latency algorithm.
func (t *Target) Done(latency time.Duration) {
	t.active.Add(-1)
	if latency > 0 {
		us := latency.Microseconds()
		old := t.ewma.Load()
		if old == 0 {
			t.ewma.Store(us)
		} else {
			t.ewma.Store(old + (us-old)/4)
		}
	}
}
