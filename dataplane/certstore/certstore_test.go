package certstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/caddyserver/certmagic"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/certstore"
	"github.com/skyport-gw/skyport/dataplane/certstore/certstoretest"
	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/objstore"
)

func TestDir(t *testing.T) {
	t.Parallel()
	run(t, func(t *testing.T) objstore.Store {
		d, err := objstore.NewDir(t.TempDir())
		require.NoError(t, err)
		return d
	})
}

func TestS3(t *testing.T) {
	moto := motoserver.Start(t)
	// The lock tests race conditional writes, which moto does not make
	// atomic between concurrent requests (S3 does): serialize them.
	client := s3.NewFromConfig(moto.SerialConfig(), func(o *s3.Options) { o.UsePathStyle = true })
	var n atomic.Int64
	run(t, func(t *testing.T) objstore.Store {
		s := objstore.NewS3(client, fmt.Sprintf("certs-%d", n.Add(1)), "fleet/certs")
		require.NoError(t, s.CreateBucket(context.Background()))
		return s
	})
}

// run runs the certmagic.Storage conformance suite, then the tests of
// this implementation's lock objects, on fresh stores from open.
func run(t *testing.T, open func(t *testing.T) objstore.Store) {
	certstoretest.Run(t, func(t *testing.T) (certmagic.Storage, certmagic.Storage) {
		o := open(t)
		return newStorage(t, o), newStorage(t, o)
	})
	tests := []struct {
		desc string
		fn   func(t *testing.T, o objstore.Store)
	}{
		{"a live lock blocks until ctx is done", testLockLive},
		{"an expired lock is taken over", testLockExpired},
		{"unlock refuses a lock taken over", testUnlockLost},
		{"the keep-alive holds a lock past its ttl", testKeepAlive},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func newStorage(t *testing.T, o objstore.Store, opts ...certstore.Option) *certstore.Storage {
	opts = append([]certstore.Option{certstore.WithPollInterval(10 * time.Millisecond)}, opts...)
	s := certstore.New(o, opts...)
	t.Cleanup(s.Close)
	return s
}

func writeLock(t *testing.T, o objstore.Store, name, token string, expires time.Time) {
	body, err := json.Marshal(map[string]any{"owner": "crashed", "token": token, "expires": expires})
	require.NoError(t, err)
	_, err = o.Put(context.Background(), "locks/"+name, body, objstore.Condition{})
	require.NoError(t, err)
}

func testLockLive(t *testing.T, o objstore.Store) {
	writeLock(t, o, "n", "other", time.Now().Add(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, newStorage(t, o).Lock(ctx, "n"), context.DeadlineExceeded)
}

func testLockExpired(t *testing.T, o objstore.Store) {
	writeLock(t, o, "n", "other", time.Now().Add(-time.Second))
	ctx := context.Background()
	s := newStorage(t, o)
	require.NoError(t, s.Lock(ctx, "n"))
	require.NoError(t, s.RenewLockLease(ctx, "n", time.Hour))
	require.NoError(t, s.Unlock(ctx, "n"))
	_, _, err := o.Get(ctx, "locks/n")
	require.ErrorIs(t, err, objstore.ErrNotFound)
	require.ErrorIs(t, s.Unlock(ctx, "n"), certstore.ErrNotLocked)
	require.ErrorIs(t, s.RenewLockLease(ctx, "n", time.Hour), certstore.ErrNotLocked)
}

func testUnlockLost(t *testing.T, o objstore.Store) {
	ctx := context.Background()
	s := newStorage(t, o)
	require.NoError(t, s.Lock(ctx, "n"))
	writeLock(t, o, "n", "thief", time.Now().Add(time.Hour))
	require.ErrorIs(t, s.Unlock(ctx, "n"), certstore.ErrLockLost)
	data, _, err := o.Get(ctx, "locks/n")
	require.NoError(t, err)
	require.Contains(t, string(data), "thief", "the new holder's lock stays")
}

// clock is a time tests set; safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// lockExpiry reads the expiry a lock object states.
func lockExpiry(t *testing.T, o objstore.Store, name string) time.Time {
	data, _, err := o.Get(context.Background(), "locks/"+name)
	require.NoError(t, err)
	var body struct {
		Expires time.Time `json:"expires"`
	}
	require.NoError(t, json.Unmarshal(data, &body))
	return body.Expires
}

// testKeepAlive: two TTLs after a lock was taken (on a clock the test
// moves), the holder's keep-alive has pushed its expiry past them, so
// another instance cannot take it over. The clock makes it independent of
// how long the machine takes to run the keep-alive.
func testKeepAlive(t *testing.T, o objstore.Store) {
	ctx := context.Background()
	clk := newClock(time.Now())
	ttl := 300 * time.Millisecond // the keep-alive runs every 100ms
	holder := newStorage(t, o, certstore.WithLockTTL(ttl), certstore.WithClock(clk.now))
	require.NoError(t, holder.Lock(ctx, "n"))
	clk.advance(2 * ttl)
	past := clk.now()
	require.Eventually(t, func() bool { return lockExpiry(t, o, "n").After(past) }, time.Minute, 10*time.Millisecond,
		"the keep-alive renews the lock")
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, newStorage(t, o, certstore.WithClock(clk.now)).Lock(short, "n"), context.DeadlineExceeded)
	require.NoError(t, holder.Unlock(ctx, "n"))
}
