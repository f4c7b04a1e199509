package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDefaultPolicyFlag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	p, err := defaultPolicy("")
	require.NoError(t, err)
	require.Nil(t, p)
	p, err = defaultPolicy(write("good.json", `{"waves":[{"selector":"ring:canary","bake_seconds":5},{"selector":"*"}]}`))
	require.NoError(t, err)
	require.Len(t, p.Waves, 2)
	_, err = defaultPolicy(write("bad.json", `{"waves":[{"selector":"canary"}]}`))
	require.ErrorContains(t, err, "--rollout-policy")
	_, err = defaultPolicy(filepath.Join(dir, "absent.json"))
	require.ErrorContains(t, err, "--rollout-policy")
}
