package freeport_test

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/freeport"
)

func TestPortsAreDistinctAndBindable(t *testing.T) {
	t.Parallel()
	seen := map[int]bool{}
	for range 200 {
		p, err := freeport.Port()
		require.NoError(t, err)
		require.False(t, seen[p], "port %d handed out twice", p)
		require.Less(t, p, 32768, "port %d is in the ephemeral range", p)
		seen[p] = true
	}
	a, err := freeport.Addr()
	require.NoError(t, err)
	l, err := net.Listen("tcp", a)
	require.NoError(t, err)
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	require.NoError(t, err)
	_, err = strconv.Atoi(port)
	require.NoError(t, err)
}
