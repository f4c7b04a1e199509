//go:build unix

package freeport

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRefusingRefusesAndHoldsItsPort: a connection to the port is
// refused, and no listener can take the port while it is held.
func TestRefusingRefusesAndHoldsItsPort(t *testing.T) {
	t.Parallel()
	port, release, err := Refusing()
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	_, err = net.Dial("tcp", addr)
	require.True(t, errors.Is(err, syscall.ECONNREFUSED), "dial: %v", err)

	_, err = net.Listen("tcp", addr)
	require.Error(t, err, "the port is held")

	release()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err, "released")
	require.NoError(t, ln.Close())
}
