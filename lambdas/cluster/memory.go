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
// not outlive the process, so nothing is persisted.
type Memory struct {
	clock func() time.Time

	mu    sync.Mutex
	conns map[string]Connection
	nodes map[string]Node
}

// NewMemory returns an empty in-process registry; clock is time.Now when nil.
func NewMemory(clock func() time.Time) *Memory {
	if clock == nil {
		clock = time.Now
	}
	return &Memory{clock: clock, conns: map[string]Connection{}, nodes: map[string]Node{}}
}

// PutConnection implements Registry.
func (m *Memory) PutConnection(_ context.Context, c Connection) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.conns[c.ID] = c
	return nil
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

// PutNode implements Registry.
func (m *Memory) PutNode(_ context.Context, n Node) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nodes[n.NodeID] = cloneNode(n)
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
	now := m.clock()
	out := make([]Node, 0, len(m.nodes))
	for id, n := range m.nodes {
		if !live(n.ExpiresAt, now) {
			delete(m.nodes, id)
			continue
		}
		out = append(out, cloneNode(n))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NodeID < out[j].NodeID })
	return out, nil
}

// ListDataPlanes implements Registry.
func (m *Memory) ListDataPlanes(ctx context.Context) ([]DataPlane, error) {
	nodes, err := m.ListNodes(ctx)
	if err != nil {
		return nil, err
	}
	return DataPlanes(nodes, m.clock()), nil
}

// cloneNode copies the row's map and slice, so callers never share them.
func cloneNode(n Node) Node {
	n.Labels = maps.Clone(n.Labels)
	n.Plugins = slices.Clone(n.Plugins)
	return n
}
