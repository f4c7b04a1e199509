package proxy

import (
	"bufio"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingConn is a connection that only counts its closes.
type countingConn struct {
	net.Conn
	closes atomic.Int32
	// inUse says a request holds the connection (TestIdlePoolConcurrent).
	inUse atomic.Bool
}

func (c *countingConn) Close() error {
	c.closes.Add(1)
	return nil
}

// poolOwner is an event loop as the pool sees it: a key, never dialed.
type poolOwner struct{ _ int }

func (*poolOwner) Dial(netip.AddrPort, time.Duration) (net.Conn, error) { return nil, net.ErrClosed }
func (*poolOwner) OnExit(func()) (func(), bool)                         { return func() {}, true }

// idleConn is a connection of p as a response left it, ready for put.
func idleConn(p *idlePool) (*h1Conn, *countingConn) {
	cc := &countingConn{}
	return &h1Conn{pool: p, addr: p.key.addr, conn: cc, raw: cc, br: bufio.NewReader(cc)}, cc
}

// TestIdlePools: the pools keep what they kept in the map, whether
// reached without it (the home address, of Go's netpoller or of an event
// loop) or through it (another address): the most recently used first,
// the idle timeout on get and on put, at most maxIdle, nothing once
// closed; an event loop's pools dropped when it exits.
func TestIdlePools(t *testing.T) {
	t.Parallel()
	const home, other = "192.0.2.1:80", "192.0.2.2:80"
	for _, tc := range []struct {
		name  string
		owner bool
		addr  string
	}{
		{"home", false, home},
		{"home/loop", true, home},
		{"other", false, other},
		{"other/loop", true, other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newH1Client("http", nil)
			c.setHome(home)
			var owner connOwner
			o := &poolOwner{}
			if tc.owner {
				owner = o
			}
			key := poolKey{owner: owner, addr: tc.addr}
			p := c.pool(key)
			require.Same(t, p, c.pool(key), "one pool per owner and address")
			if tc.addr == home && !tc.owner {
				require.Same(t, c.homePool, p)
			}
			if tc.addr == home && tc.owner {
				ls := c.loops.Load()
				require.NotNil(t, ls)
				require.Len(t, *ls, 1, "the loop's home pool is listed")
				require.Same(t, p, (*ls)[0].pool)
			}
			assert.NotSame(t, p, c.pool(poolKey{owner: &poolOwner{}, addr: tc.addr}), "another loop's pool")

			a, ca := idleConn(p)
			b, cb := idleConn(p)
			c.put(a)
			c.put(b)
			now := time.Now()
			assert.Same(t, b, c.get(p, now), "the most recently used first")
			assert.Same(t, a, c.get(p, now))
			assert.Nil(t, c.get(p, now))
			assert.Zero(t, ca.closes.Load()+cb.closes.Load())

			// The idle timeout: a get past it closes what it finds.
			c.put(a)
			assert.Nil(t, c.get(p, time.Now().Add(c.idleTime)))
			assert.Equal(t, int32(1), ca.closes.Load())

			// A put closes the connections idle for the timeout before it.
			d, cd := idleConn(p)
			c.put(d)
			p.mu.Lock()
			p.conns[0].since = p.conns[0].since.Add(-c.idleTime)
			p.mu.Unlock()
			c.put(b)
			assert.Equal(t, int32(1), cd.closes.Load())
			assert.Same(t, b, c.get(p, time.Now()))

			// At most maxIdle.
			c.maxIdle = 2
			conns := make([]*countingConn, 3)
			for i := range conns {
				var pc *h1Conn
				pc, conns[i] = idleConn(p)
				c.put(pc)
			}
			assert.Equal(t, []int32{0, 0, 1}, []int32{conns[0].closes.Load(), conns[1].closes.Load(), conns[2].closes.Load()})
			assert.Equal(t, 2, c.idleCount(func(k poolKey) bool { return k == key }))

			// Bytes beyond the response: closed, not kept.
			e, ce := idleConn(p)
			e.br = bufio.NewReader(&pipeReader{b: []byte("x")})
			_, _ = e.br.Peek(1)
			c.put(e)
			assert.Equal(t, int32(1), ce.closes.Load())

			if tc.owner {
				// The loop exits: its pools close and are forgotten.
				c.dropOwner(owner)
				assert.Equal(t, int32(1), conns[0].closes.Load())
				assert.Equal(t, int32(1), conns[1].closes.Load())
				if ls := c.loops.Load(); ls != nil {
					for _, lp := range *ls {
						assert.False(t, lp.owner == owner, "the exited loop is no longer listed")
					}
				}
				f, cf := idleConn(p)
				c.put(f)
				assert.Equal(t, int32(1), cf.closes.Load(), "a dropped pool keeps nothing")
				assert.NotSame(t, p, c.pool(key))
				return
			}
			c.CloseIdleConnections()
			assert.Equal(t, int32(1), conns[0].closes.Load())
			assert.Equal(t, int32(1), conns[1].closes.Load())
			f, cf := idleConn(p)
			c.put(f)
			assert.Equal(t, int32(1), cf.closes.Load(), "a closed client keeps nothing")
			q := c.pool(poolKey{owner: &poolOwner{}, addr: home})
			g, cg := idleConn(q)
			c.put(g)
			assert.Equal(t, int32(1), cg.closes.Load(), "nor in a pool made since")
		})
	}
}

// pipeReader reads b, then nothing.
type pipeReader struct{ b []byte }

func (r *pipeReader) Read(p []byte) (int, error) {
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// TestIdlePoolConcurrent: goroutines sharing the home pool of Go's
// netpoller, and event loops' pools appearing meanwhile, each get back a
// connection no one else holds; CloseIdleConnections closes every
// connection left idle. Run with -race.
func TestIdlePoolConcurrent(t *testing.T) {
	t.Parallel()
	const home = "192.0.2.1:80"
	c := newH1Client("http", nil)
	c.setHome(home)
	const workers, rounds = 8, 500
	var all sync.Map
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var owner connOwner
			if w%2 == 1 {
				owner = &poolOwner{}
			}
			key := poolKey{owner: owner, addr: home}
			for i := range rounds {
				p := c.pool(key)
				pc := c.get(p, time.Now())
				if pc == nil {
					var cc *countingConn
					pc, cc = idleConn(p)
					all.Store(cc, true)
				}
				cc := pc.conn.(*countingConn)
				if !cc.inUse.CompareAndSwap(false, true) {
					t.Errorf("connection handed out twice")
					return
				}
				cc.inUse.Store(false)
				if i%7 == 0 {
					// Dropped, as after a failed exchange.
					_ = pc.conn.Close()
					continue
				}
				c.put(pc)
			}
		}()
	}
	wg.Wait()
	c.CloseIdleConnections()
	idle := 0
	all.Range(func(k, _ any) bool {
		if k.(*countingConn).closes.Load() == 0 {
			idle++
		}
		return true
	})
	assert.Zero(t, idle, "idle connections left open")
	if ls := c.loops.Load(); assert.NotNil(t, ls) {
		assert.Len(t, *ls, workers/2, "one home pool per loop")
	}
}

// idleCount counts the idle connections of the pools whose keys match.
func (c *h1Client) idleCount(match func(poolKey) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for key, p := range c.pools {
		if match(key) {
			p.mu.Lock()
			n += len(p.conns)
			p.mu.Unlock()
		}
	}
	return n
}
