package counters

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisConfig is the redis record of Kong's rate-limiting plugins
// (kong/tools/redis/schema.lua).
type RedisConfig struct {
	Host       string `json:"host"`
	Port       int    `json:"port"`
	Timeout    int    `json:"timeout"` // milliseconds
	Username   string `json:"username"`
	Password   string `json:"password"`
	Database   int    `json:"database"`
	SSL        bool   `json:"ssl"`
	SSLVerify  bool   `json:"ssl_verify"`
	ServerName string `json:"server_name"`
}

// Redis is the redis policy's store: counters as Redis keys, created with
// an expiry and incremented atomically, shared by every node that uses
// the same server and database.
type Redis struct {
	client *redis.Client
}

var _ Store = (*Redis)(nil)

// Redises hands out one Redis store per server configuration, so plugin
// instances and snapshots share connection pools. It is safe for
// concurrent use; Close closes every pool.
type Redises struct {
	mu     sync.Mutex
	byConf map[RedisConfig]*Redis
}

// NewRedises returns an empty set of stores.
func NewRedises() *Redises { return &Redises{byConf: map[RedisConfig]*Redis{}} }

// For returns the store for c, connecting lazily.
func (rs *Redises) For(c RedisConfig) *Redis {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r, ok := rs.byConf[c]; ok {
		return r
	}
	timeout := time.Duration(c.Timeout) * time.Millisecond
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	opts := &redis.Options{
		Addr: net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), Username: c.Username, Password: c.Password,
		DB: c.Database, DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout,
		PoolSize: 32, MaxRetries: -1, DisableIdentity: true, Protocol: 2,
	}
	if c.SSL {
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName,
			InsecureSkipVerify: !c.SSLVerify} //nolint:gosec // Kong's ssl_verify defaults to false; the schema says so
		if opts.TLSConfig.ServerName == "" {
			opts.TLSConfig.ServerName = c.Host
		}
	}
	r := &Redis{client: redis.NewClient(opts)}
	rs.byConf[c] = r
	return r
}

// Close closes every store's connections.
func (rs *Redises) Close() error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var errs []error
	for c, r := range rs.byConf {
		errs = append(errs, r.client.Close())
		delete(rs.byConf, c)
	}
	return errors.Join(errs...)
}

// Get implements Store with one MGET.
func (r *Redis) Get(ctx context.Context, keys []string) ([]int64, error) {
	vals, err := r.client.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("reading counters from redis: %w", err)
	}
	out := make([]int64, len(keys))
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		if out[i], err = strconv.ParseInt(s, 10, 64); err != nil {
			return nil, fmt.Errorf("reading counter %s from redis: %w", keys[i], err)
		}
	}
	return out, nil
}

// Add implements Store in one pipeline: each key is created with its
// expiry when absent (SET NX EX), then incremented.
func (r *Redis) Add(ctx context.Context, incs []Increment) ([]int64, error) {
	pipe := r.client.Pipeline()
	cmds := make([]*redis.IntCmd, len(incs))
	for i, inc := range incs {
		pipe.SetNX(ctx, inc.Key, 0, max(inc.TTL, time.Second))
		cmds[i] = pipe.IncrBy(ctx, inc.Key, inc.N)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("incrementing counters in redis: %w", err)
	}
	out := make([]int64, len(incs))
	for i, c := range cmds {
		out[i] = c.Val()
	}
	return out, nil
}
