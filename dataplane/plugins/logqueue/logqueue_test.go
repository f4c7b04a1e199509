package logqueue_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/logqueue"
)

// sink records the batches a queue delivers; fail makes the next n
// deliveries fail, block holds deliveries until released.
type sink struct {
	mu      sync.Mutex
	batches [][]string
	fail    int
	block   chan struct{}
}

func (s *sink) send(ctx context.Context, batch [][]byte) error {
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		return errors.New("receiver down")
	}
	var b []string
	for _, e := range batch {
		b = append(b, string(e))
	}
	s.batches = append(s.batches, b)
	return nil
}

func (s *sink) got() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]string(nil), s.batches...)
}

func params() logqueue.Params {
	return logqueue.Params{MaxBatchSize: 1, MaxEntries: 100, MaxRetryTime: time.Minute,
		InitialRetryDelay: time.Millisecond, MaxRetryDelay: 10 * time.Millisecond}
}

func TestBatchesOnSize(t *testing.T) {
	t.Parallel()
	s := &sink{}
	p := params()
	p.MaxBatchSize, p.MaxCoalescingDelay = 3, time.Hour
	q := logqueue.New("test", p, s.send, logqueue.NewMetrics(), nil)
	for i := range 6 {
		require.NoError(t, q.Add([]byte(fmt.Sprint(i))))
	}
	require.Eventually(t, func() bool { return len(s.got()) == 2 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, [][]string{{"0", "1", "2"}, {"3", "4", "5"}}, s.got())
	require.NoError(t, q.Close())
}

func TestCoalescingDelaySendsPartialBatch(t *testing.T) {
	t.Parallel()
	s := &sink{}
	p := params()
	p.MaxBatchSize, p.MaxCoalescingDelay = 100, 20*time.Millisecond
	q := logqueue.New("test", p, s.send, nil, nil)
	require.NoError(t, q.Add([]byte("a")))
	require.NoError(t, q.Add([]byte("b")))
	require.Eventually(t, func() bool { return len(s.got()) == 1 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, []string{"a", "b"}, s.got()[0])
	require.NoError(t, q.Close())
}

func TestFullQueueDropsOldestAndCounts(t *testing.T) {
	t.Parallel()
	s := &sink{block: make(chan struct{})}
	p := params()
	p.MaxEntries = 2
	m := logqueue.NewMetrics()
	q := logqueue.New("full", p, s.send, m, nil)
	require.NoError(t, q.Add([]byte("first"))) // taken by the blocked sender
	require.Eventually(t, func() bool { return q.Len() == 0 }, 10*time.Second, time.Millisecond)
	for _, e := range []string{"a", "b", "c", "d"} {
		require.NoError(t, q.Add([]byte(e)))
	}
	_, dropped, _ := m.Counts("full")
	require.Equal(t, 2.0, dropped)
	close(s.block)
	require.NoError(t, q.Close())
	require.Equal(t, [][]string{{"first"}, {"c"}, {"d"}}, s.got())
	sent, _, _ := m.Counts("full")
	require.Equal(t, 3.0, sent)
}

func TestMaxBytes(t *testing.T) {
	t.Parallel()
	p := params()
	p.MaxBytes = 4
	q := logqueue.New("bytes", p, (&sink{}).send, nil, nil)
	require.ErrorIs(t, q.Add([]byte("12345")), logqueue.ErrTooLarge)
	require.NoError(t, q.Close())
	require.ErrorIs(t, q.Add([]byte("1")), logqueue.ErrClosed)
}

func TestRetriesThenDelivers(t *testing.T) {
	t.Parallel()
	s := &sink{fail: 3}
	m := logqueue.NewMetrics()
	q := logqueue.New("retry", params(), s.send, m, nil)
	require.NoError(t, q.Add([]byte("x")))
	require.Eventually(t, func() bool { return len(s.got()) == 1 }, 10*time.Second, 5*time.Millisecond)
	_, _, failed := m.Counts("retry")
	require.Zero(t, failed)
	require.NoError(t, q.Close())
}

func TestGivesUpAfterMaxRetryTime(t *testing.T) {
	t.Parallel()
	s := &sink{fail: 1 << 30}
	p := params()
	p.MaxRetryTime = 20 * time.Millisecond
	m := logqueue.NewMetrics()
	q := logqueue.New("giveup", p, s.send, m, nil)
	require.NoError(t, q.Add([]byte("x")))
	require.Eventually(t, func() bool { _, _, f := m.Counts("giveup"); return f == 1 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, q.Close())
}

func TestCloseDeliversQueued(t *testing.T) {
	t.Parallel()
	s := &sink{}
	p := params()
	p.MaxBatchSize, p.MaxCoalescingDelay = 10, time.Hour
	q := logqueue.New("close", p, s.send, nil, nil)
	require.NoError(t, q.Add([]byte("a")))
	require.NoError(t, q.Close())
	require.Equal(t, [][]string{{"a"}}, s.got())
	require.NoError(t, q.Close(), "closing twice is fine")
}

func TestConfigParams(t *testing.T) {
	t.Parallel()
	n := 100
	c := logqueue.Config{MaxBatchSize: 10, MaxCoalescingDelay: 0.5, MaxEntries: 5, MaxBytes: &n,
		MaxRetryTime: 60, InitialRetryDelay: 0.01, MaxRetryDelay: 60}
	require.Equal(t, logqueue.Params{MaxBatchSize: 10, MaxCoalescingDelay: 500 * time.Millisecond, MaxEntries: 5,
		MaxBytes: 100, MaxRetryTime: time.Minute, InitialRetryDelay: 10 * time.Millisecond, MaxRetryDelay: time.Minute}, c.Params())
	c.ConcurrencyLimit = -1
	require.True(t, c.Params().Concurrent)
}

func TestConcurrentDeliveries(t *testing.T) {
	t.Parallel()
	s := &sink{block: make(chan struct{})}
	p := params()
	p.Concurrent = true
	m := logqueue.NewMetrics()
	q := logqueue.New("concurrent", p, s.send, m, nil)
	for i := range 3 {
		require.NoError(t, q.Add([]byte(fmt.Sprint(i))))
	}
	// Every batch is taken although the first delivery is still blocked.
	require.Eventually(t, func() bool { return q.Len() == 0 }, 10*time.Second, time.Millisecond)
	close(s.block)
	require.NoError(t, q.Close())
	require.Len(t, s.got(), 3)
}

// TestLegacyParams: queue_size and flush_timeout apply only where the
// queue's counterpart is left at its default, as Kong's queue does.
func TestLegacyParams(t *testing.T) {
	t.Parallel()
	size, flush := 50, 2.5
	tests := []struct {
		desc      string
		conf      logqueue.Config
		size      *int
		flush     *float64
		wantBatch int
		wantDelay time.Duration
	}{
		{"neither", logqueue.Config{MaxBatchSize: 1, MaxCoalescingDelay: 1}, nil, nil, 1, time.Second},
		{"both at the defaults", logqueue.Config{MaxBatchSize: 1, MaxCoalescingDelay: 1}, &size, &flush, 50, 2500 * time.Millisecond},
		{"queue set wins", logqueue.Config{MaxBatchSize: 10, MaxCoalescingDelay: 3}, &size, &flush, 10, 3 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			p := tc.conf.LegacyParams(tc.size, tc.flush)
			require.Equal(t, tc.wantBatch, p.MaxBatchSize)
			require.Equal(t, tc.wantDelay, p.MaxCoalescingDelay)
		})
	}
}

func TestBufferRelease(t *testing.T) {
	t.Parallel()
	batch := [][]byte{append(logqueue.Buffer(), "entry"...), make([]byte, 3, 1<<20)}
	logqueue.Release(batch)
	require.Equal(t, [][]byte{nil, nil}, batch, "a released batch holds no entries")
	b := logqueue.Buffer()
	require.Empty(t, b)
	require.Less(t, cap(b), 1<<20, "an oversized entry is not pooled")
}
