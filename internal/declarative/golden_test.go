package declarative_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/declarative"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGolden parses each input, compares the normalized configuration and
// its export with the goldens, and checks that the export parses back to
// the same configuration.
func TestGolden(t *testing.T) {
	for _, name := range []string{"full.yml", "minimal.json", "references.yml", "kong-entities.yml"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in, err := os.ReadFile(filepath.Join("testdata", name))
			require.NoError(t, err)
			cfg, err := declarative.Parse(in)
			require.NoError(t, err)

			normalized := mustJSON(t, cfg)
			golden(t, name+".golden.json", normalized)
			exported, err := declarative.Export(cfg)
			require.NoError(t, err)
			golden(t, name+".export.yml", exported)

			again, err := declarative.Parse(exported)
			require.NoError(t, err)
			require.JSONEq(t, string(normalized), string(mustJSON(t, again)))
			require.Equal(t, snapshot.ConfigHash(cfg), snapshot.ConfigHash(again))

			asJSON, err := declarative.ExportJSON(cfg)
			require.NoError(t, err)
			fromJSON, err := declarative.Parse(asJSON)
			require.NoError(t, err)
			require.JSONEq(t, string(normalized), string(mustJSON(t, fromJSON)))
		})
	}
}

// TestParseDeterministic checks that the same file yields the same ids
// and hash every time.
func TestParseDeterministic(t *testing.T) {
	t.Parallel()
	in, err := os.ReadFile("testdata/full.yml")
	require.NoError(t, err)
	a, err := declarative.Parse(in)
	require.NoError(t, err)
	b, err := declarative.Parse(in)
	require.NoError(t, err)
	require.Equal(t, mustJSON(t, a), mustJSON(t, b))
	require.Equal(t, snapshot.ConfigHash(a), snapshot.ConfigHash(b))
	require.Equal(t, map[model.Kind]int{
		model.KindService: 2, model.KindRoute: 4, model.KindConsumer: 2, model.KindUpstream: 1,
		model.KindTarget: 3, model.KindCertificate: 1, model.KindSNI: 2, model.KindCACertificate: 1,
		model.KindKeyAuth: 2, model.KindBasicAuth: 1, model.KindJWT: 1, model.KindACL: 3,
	}, countKinds(a))
}

func countKinds(cfg *model.Config) map[model.Kind]int {
	out := map[model.Kind]int{}
	cfg.Each(func(e model.Entity) { out[e.Kind()]++ })
	return out
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	out, err := json.MarshalIndent(v, "", "  ")
	require.NoError(t, err)
	return append(out, '\n')
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test -update")
	require.Equal(t, string(want), string(got), "golden %s differs; run go test -update if the change is intended", name)
}
