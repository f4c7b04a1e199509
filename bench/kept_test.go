package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

const keptOld = `# Skyport benchmarks

Old run.

## Proxy throughput and latency

| old table |

<!-- kept -->
### A later run
| hand row |
<!-- /kept -->

## Gone section

<!-- kept -->
## Lambda cold starts

Hand-measured.
<!-- /kept -->
`

func TestWithKept(t *testing.T) {
	t.Parallel()
	blocks, err := keptBlocks(keptOld)
	require.NoError(t, err)
	require.Len(t, blocks, 2)
	require.Equal(t, "## Proxy throughput and latency", blocks[0].section)
	require.Equal(t, "## Gone section", blocks[1].section)

	tests := []struct {
		desc, doc, want string
	}{
		{
			desc: "each block at the end of its section, the others at the end",
			doc:  "# Skyport benchmarks\n\nNew run.\n\n## Proxy throughput and latency\n\n| new table |\n\n## Against the targets\n\n| t |\n",
			want: "# Skyport benchmarks\n\nNew run.\n\n## Proxy throughput and latency\n\n| new table |\n\n" +
				"<!-- kept -->\n### A later run\n| hand row |\n<!-- /kept -->\n\n" +
				"## Against the targets\n\n| t |\n\n" +
				"<!-- kept -->\n## Lambda cold starts\n\nHand-measured.\n<!-- /kept -->\n",
		},
		{
			desc: "a section that ends the document",
			doc:  "# Skyport benchmarks\n\n## Proxy throughput and latency\n\n| new table |",
			want: "# Skyport benchmarks\n\n## Proxy throughput and latency\n\n| new table |\n\n" +
				"<!-- kept -->\n### A later run\n| hand row |\n<!-- /kept -->\n\n" +
				"<!-- kept -->\n## Lambda cold starts\n\nHand-measured.\n<!-- /kept -->\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got := withKept(tt.doc, blocks)
			require.Equal(t, tt.want, got)
			again, err := keptBlocks(got)
			require.NoError(t, err)
			require.Equal(t, withKept(tt.doc, again), got, "a second run keeps the same text")
		})
	}
}

func TestKeptErrors(t *testing.T) {
	t.Parallel()
	_, err := keptBlocks("## A\n<!-- kept -->\nnever closed\n")
	require.ErrorContains(t, err, "has no <!-- /kept -->")

	dir := t.TempDir()
	blocks, err := keepFrom(filepath.Join(dir, "missing.md"))
	require.NoError(t, err)
	require.Empty(t, blocks)

	big := filepath.Join(dir, "big.md")
	require.NoError(t, os.WriteFile(big, make([]byte, maxReport+1), 0o644))
	_, err = keepFrom(big)
	require.ErrorContains(t, err, "larger than")
}

// TestBenchmarksKept checks the repository's report: its kept blocks are
// well formed, so make bench carries them over.
func TestBenchmarksKept(t *testing.T) {
	t.Parallel()
	blocks, err := keepFrom(filepath.Join("..", "BENCHMARKS.md"))
	require.NoError(t, err)
	require.NotEmpty(t, blocks)
	for _, b := range blocks {
		require.NotEmpty(t, b.section, "a kept block sits in a section")
	}
	// A report rendered from canned results, as make bench writes it,
	// carries every block over unchanged (those of a section this report
	// lacks at its end).
	r := &report{floor: floorOf("1 core", "http", [3]float64{10000, 40, 10}, [3]float64{9500, 48, 10},
		[3]float64{7000, 56, 12}, [3]float64{6500, 60, 12}, [3]float64{6900, 57, 12})}
	again, err := keptBlocks(withKept(r.markdown(), blocks))
	require.NoError(t, err)
	texts := func(bs []keptBlock) []string {
		var s []string
		for _, b := range bs {
			s = append(s, b.text)
		}
		return s
	}
	require.ElementsMatch(t, texts(blocks), texts(again))
}
