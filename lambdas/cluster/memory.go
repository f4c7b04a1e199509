package cluster

import (
	"context"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"
)

var _ Registry = (*Memory)(nil)

// Memory is an in-process Registry for `skyport local`: connections do
// not outlive the process, so nothing is persisted. Every method holds
// one lock, so each read-modify-write is atomic.
type Memory struct {
	clock  func() time.Time
	limits limits

	mu    sync.Mutex
	conns map[string]Connection
	nodes map[string]Node
	// owned counts each owner's rows, expired ones included until they
	// are dropped: below the limit, a new row needs no scan of the rows.
	owned map[string]int
}

// NewMemory returns an empty in-process registry; clock is time.Now when nil.
func NewMemory(clock func() time.Time, opts ...Option) *Memory {
	if clock == nil {
		clock = time.Now
	}
	return &Memory{clock: clock, limits: newLimits(opts), conns: map[string]Connection{}, nodes: map[string]Node{}, owned: map[string]int{}}
}

// PutConnection implements Registry.
func (m *Memory) PutConnection(_ context.Context, c Connection) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.conns[c.ID] = c
	return nil
}

// BindConnection implements Registry.
func (m *Memory) BindConnection(_ context.Context, c Connection) (Connection, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.conns[c.ID]
	if !ok {
		m.conns[c.ID] = c
		return c, nil
	}
	if cur.NodeID != "" && cur.NodeID != c.NodeID {
		return Connection{}, ErrNodeMismatch
	}
	cur.NodeID, cur.ExpiresAt = c.NodeID, c.ExpiresAt
	m.conns[c.ID] = cur
	return cur, nil
}

// GetConnection implements Registry.
func (m *Memory) GetConnection(_ context.Context, id string) (Connection, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.conns[id]
	if !ok || !live(c.ExpiresAt, m.clock()) {
		return Connection{}, ErrNotFound
	}
	return c, nil
}

// DeleteConnection implements Registry.
func (m *Memory) DeleteConnection(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.conns, id)
	return nil
}

// ListConnections implements Registry.
func (m *Memory) ListConnections(_ context.Context) ([]Connection, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock()
	out := make([]Connection, 0, len(m.conns))
	for id, c := range m.conns {
		if !live(c.ExpiresAt, now) {
			delete(m.conns, id)
			continue
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// PutNode writes n as it is, outside the limit and the version check:
// for tests and restores, never for data planes' messages.
func (m *Memory) PutNode(_ context.Context, n Node) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.setNode(cloneNode(n))
	return nil
}

// setNode stores row n, keeping the owners' counts.
func (m *Memory) setNode(n Node) {
	if old, ok := m.nodes[n.NodeID]; ok {
		m.owned[old.Owner]--
	}
	m.nodes[n.NodeID] = n
	m.owned[n.Owner]++
}

// dropNode forgets row id, keeping the owners' counts.
func (m *Memory) dropNode(id string) {
	if old, ok := m.nodes[id]; ok {
		if m.owned[old.Owner]--; m.owned[old.Owner] <= 0 {
			delete(m.owned, old.Owner)
		}
		delete(m.nodes, id)
	}
}

// UpdateNode implements Registry.
func (m *Memory) UpdateNode(_ context.Context, nodeID, owner string, fn func(*Node)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock()
	n, ok := m.nodes[nodeID]
	if !ok || !live(n.ExpiresAt, now) {
		if err := m.makeRoom(owner, now); err != nil {
			return err
		}
		n = Node{Owner: owner}
	}
	n = cloneNode(n)
	fn(&n)
	n.NodeID, n.Seq = nodeID, n.Seq+1
	m.setNode(cloneNode(n))
	return nil
}

// makeRoom checks that owner may add a row, forgetting its stalest row
// when it is at its limit; expired rows are dropped on the way. Only an
// owner at its limit (expired rows counted) costs a scan of the rows.
func (m *Memory) makeRoom(owner string, now time.Time) error {
	if m.owned[owner] < m.limits.nodes {
		return nil
	}
	count, stalest := 0, ""
	for id, n := range m.nodes {
		switch {
		case !live(n.ExpiresAt, now):
			m.dropNode(id)
		case n.Owner == owner:
			count++
			if stalest == "" || n.LastSeen < m.nodes[stalest].LastSeen {
				stalest = id
			}
		}
	}
	if count < m.limits.nodes {
		return nil
	}
	if !m.limits.stale(m.nodes[stalest].LastSeen, now) {
		return ErrNodeLimit
	}
	m.dropNode(stalest)
	return nil
}

// GetNode implements Registry.
func (m *Memory) GetNode(_ context.Context, nodeID string) (Node, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nodes[nodeID]
	if !ok || !live(n.ExpiresAt, m.clock()) {
		return Node{}, ErrNotFound
	}
	return cloneNode(n), nil
}

// ListNodes implements Registry.
func (m *Memory) ListNodes(_ context.Context) ([]Node, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.liveNodes(m.clock()), nil
}

// liveNodes returns copies of the live rows sorted by node id, dropping
// the expired ones.
func (m *Memory) liveNodes(now time.Time) []Node {
	out := make([]Node, 0, len(m.nodes))
	for id, n := range m.nodes {
		if !live(n.ExpiresAt, now) {
			m.dropNode(id)
			continue
		}
		out = append(out, cloneNode(n))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NodeID < out[j].NodeID })
	return out
}

// ListDataPlanes implements Registry.
func (m *Memory) ListDataPlanes(_ context.Context, opts ListOptions) (DataPlanePage, error) {
	after, err := decodeOffset(opts.Offset)
	if err != nil {
		return DataPlanePage{}, err
	}
	size := pageSize(opts.Size)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock()
	nodes := m.liveNodes(now)
	first := sort.Search(len(nodes), func(i int) bool { return nodes[i].NodeID > after })
	page := DataPlanePage{Data: []DataPlane{}}
	for _, n := range nodes[first:] {
		dp := dataPlane(n, now)
		if !opts.match(dp) {
			continue
		}
		if len(page.Data) == size {
			page.Next = encodeOffset(page.Data[size-1].ID)
			break
		}
		page.Data = append(page.Data, dp)
	}
	return page, nil
}

// cloneNode copies the row's map and slice, so callers never share them.
func cloneNode(n Node) Node {
	n.Labels = maps.Clone(n.Labels)
	n.Plugins = slices.Clone(n.Plugins)
	return n
}
