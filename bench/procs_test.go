package main

import (
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRSSKB: a running process's resident memory is read; one that is
// gone is an error, not a zero.
func TestRSSKB(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("sleep", "60")
	require.NoError(t, cmd.Start())
	p := &proc{cmd: cmd}
	kb, err := p.rssKB()
	require.NoError(t, err)
	require.Positive(t, kb)

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait() // reaped: /proc/<pid> is gone
	_, err = p.rssKB()
	require.ErrorContains(t, err, "resident memory")
}
