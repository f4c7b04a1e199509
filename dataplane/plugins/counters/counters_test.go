package counters_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/counters"
	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/redisserver"
)

// clock is a test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// conformance is what every Store does: counts add up, absent keys read
// 0, and a counter expires after the TTL its creation set.
func conformance(t *testing.T, s counters.Store, clk *clock) {
	t.Helper()
	ctx := context.Background()
	vals, err := s.Add(ctx, []counters.Increment{{Key: "a", N: 2, TTL: time.Minute}, {Key: "b", N: 1, TTL: time.Hour}})
	require.NoError(t, err)
	require.Equal(t, []int64{2, 1}, vals)
	vals, err = s.Add(ctx, []counters.Increment{{Key: "a", N: 3, TTL: time.Minute}})
	require.NoError(t, err)
	require.Equal(t, []int64{5}, vals)
	vals, err = s.Get(ctx, []string{"a", "b", "none"})
	require.NoError(t, err)
	require.Equal(t, []int64{5, 1, 0}, vals)
	if clk != nil {
		clk.add(2 * time.Minute)
		vals, err = s.Get(ctx, []string{"a", "b"})
		require.NoError(t, err)
		require.Equal(t, []int64{0, 1}, vals, "a's minute is over")
	}
}

func TestMemory(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	conformance(t, counters.NewMemory(clk.now), clk)
}

func TestRedis(t *testing.T) {
	t.Parallel()
	srv := redisserver.Start(t)
	rs := counters.NewRedises()
	t.Cleanup(func() { _ = rs.Close() })
	s := rs.For(counters.RedisConfig{Host: srv.Host, Port: srv.Port, Timeout: 2000})
	require.Same(t, s, rs.For(counters.RedisConfig{Host: srv.Host, Port: srv.Port, Timeout: 2000}), "one pool per server")
	conformance(t, s, nil)
}

func TestDynamoDB(t *testing.T) {
	t.Parallel()
	moto := motoserver.Start(t)
	client := dynamodb.NewFromConfig(moto.Config())
	require.NoError(t, counters.CreateTable(context.Background(), client, "counters"))
	require.NoError(t, counters.CreateTable(context.Background(), client, "counters"), "an existing table is kept")
	clk := &clock{t: time.Now()}
	conformance(t, counters.NewDynamoDB(client, "counters", clk.now), clk)

	// More keys than one BatchGetItem takes.
	db := counters.NewDynamoDB(client, "counters", nil)
	keys := make([]string, 130)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
	}
	_, err := db.Add(context.Background(), []counters.Increment{{Key: "k129", N: 7, TTL: time.Hour}})
	require.NoError(t, err)
	vals, err := db.Get(context.Background(), keys)
	require.NoError(t, err)
	require.Len(t, vals, 130)
	require.EqualValues(t, 7, vals[129])

	cl := counters.NewCluster(db, nil)
	t.Cleanup(cl.Close)
	require.Same(t, db, cl.Store(-time.Second), "sync_rate -1 counts in the table")
	require.Same(t, cl.Store(time.Minute), cl.Store(time.Minute), "one synced store per rate")
	var none *counters.Cluster
	_, err = none.Store(time.Second).Get(context.Background(), []string{"x"})
	require.ErrorIs(t, err, counters.ErrUnavailable)
}

func TestWindowStart(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 10, 11, 12, 0, time.UTC)
	tests := []struct {
		period string
		want   time.Time
	}{
		{"second", now},
		{"minute", time.Date(2026, 11, 27, 10, 11, 0, 0, time.UTC)},
		{"hour", time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)},
		{"day", time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)},
		{"month", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"year", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.period, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want.UnixMilli(), counters.WindowStart(tc.period, now), "Kong's window dates are in ms")
		})
	}
}
