package proxycache

import (
	"container/list"
	"net/http"
	"sync"
	"time"
)

// DefaultCapacity is the memory a Store holds at most by default: Kong's
// mem_cache_size, the size of its kong_db_cache dictionary.
const DefaultCapacity = 128 << 20

// Entry is one cached response, as Kong's memory strategy stores it.
type Entry struct {
	Status int
	Header http.Header
	Body   []byte
	// Timestamp is when the response was stored (Unix seconds); TTL how
	// long it is fresh, in seconds.
	Timestamp, TTL int64
	// ReqBody is the request body of the request that filled the entry.
	ReqBody []byte

	key     string
	expires int64 // Unix seconds; 0 never
	size    int64
	elem    *list.Element
}

// Store is the data plane's memory strategy: cached responses by cache
// key, shared by every proxy-cache instance (Kong's one kong_db_cache
// dictionary), bounded in bytes, the least recently used dropped first.
// Entries live until their storage TTL passes, a purge, or eviction. It
// is safe for concurrent use.
type Store struct {
	capacity, maxEntry int64
	now                func() time.Time

	mu      sync.Mutex
	entries map[string]*Entry
	lru     list.List // front: most recently used
	used    int64
	// plugins are the ids of the proxy-cache instances in the current
	// snapshot (the Admin API's /proxy-cache/{plugin_id} routes).
	plugins map[string]bool
}

// StoreOption adjusts a Store.
type StoreOption func(*Store)

// WithCapacity bounds the store to n bytes of cached responses (headers,
// bodies and keys); one entry may use an eighth of it.
func WithCapacity(n int64) StoreOption { return func(s *Store) { s.capacity = n } }

// WithClock makes the store and the plugins using it read time from now.
func WithClock(now func() time.Time) StoreOption { return func(s *Store) { s.now = now } }

// NewStore returns an empty store.
func NewStore(opts ...StoreOption) *Store {
	s := &Store{capacity: DefaultCapacity, now: time.Now, entries: map[string]*Entry{}, plugins: map[string]bool{}}
	for _, o := range opts {
		o(s)
	}
	s.maxEntry = s.capacity / 8
	return s
}

// Fits reports whether a response body of n bytes could be stored.
func (s *Store) Fits(n int64) bool { return n <= s.maxEntry }

// Get returns the entry under key, if present and not expired.
func (s *Store) Get(key string) (*Entry, bool) {
	now := s.now().Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok {
		return nil, false
	}
	if e.expires != 0 && now >= e.expires {
		s.remove(e)
		return nil, false
	}
	s.lru.MoveToFront(e.elem)
	return e, true
}

// Set stores e under key for ttl seconds (0: until evicted or purged),
// evicting the least recently used entries to make room; false when e is
// too large to store.
func (s *Store) Set(key string, e *Entry, ttl int64) bool {
	e.key = key
	e.size = entrySize(key, e)
	if e.size > s.maxEntry {
		return false
	}
	if ttl > 0 {
		e.expires = s.now().Unix() + ttl
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.entries[key]; ok {
		s.remove(old)
	}
	for s.used+e.size > s.capacity && s.lru.Len() > 0 {
		s.remove(s.lru.Back().Value.(*Entry))
	}
	e.elem = s.lru.PushFront(e)
	s.entries[key] = e
	s.used += e.size
	return true
}

// Purge removes the entry under key; false when there was none.
func (s *Store) Purge(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if ok {
		s.remove(e)
	}
	return ok
}

// Flush removes every entry.
func (s *Store) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.entries)
	s.lru.Init()
	s.used = 0
}

// Used returns the bytes the entries take.
func (s *Store) Used() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}

func (s *Store) remove(e *Entry) {
	s.lru.Remove(e.elem)
	delete(s.entries, e.key)
	s.used -= e.size
}

// retain records the proxy-cache instances of the current snapshot.
func (s *Store) retain(ids map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.plugins = ids
}

func (s *Store) hasPlugin(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.plugins[id]
}

func (s *Store) anyPlugin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.plugins) > 0
}

// entrySize is what an entry costs: its key, body, request body and
// header text, plus a fixed overhead for the bookkeeping.
func entrySize(key string, e *Entry) int64 {
	n := int64(len(key)+len(e.Body)+len(e.ReqBody)) + 256
	for k, vs := range e.Header {
		for _, v := range vs {
			n += int64(len(k) + len(v) + 4)
		}
	}
	return n
}
