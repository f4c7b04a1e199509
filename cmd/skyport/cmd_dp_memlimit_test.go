package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCgroupMemoryLimit: the container's memory limit is read as a
// container sees it (cgroup v2 or v1, at the namespace's root or at the
// process's cgroup path); no limit, or none readable, is 0.
func TestCgroupMemoryLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc       string
		files      map[string]string
		procCgroup string
		want       int64
	}{
		{desc: "v2 in a container", files: map[string]string{"memory.max": "1073741824\n"}, procCgroup: "0::/\n", want: 1 << 30},
		{desc: "v2 without a limit", files: map[string]string{"memory.max": "max\n"}, procCgroup: "0::/\n"},
		{desc: "v2 at the process's cgroup", files: map[string]string{"system.slice/dp.service/memory.max": "536870912\n", "memory.max": "max\n"},
			procCgroup: "0::/system.slice/dp.service\n", want: 512 << 20},
		{desc: "v1 in a container", files: map[string]string{"memory/memory.limit_in_bytes": "805306368\n"},
			procCgroup: "12:pids:/\n4:memory:/\n1:cpu,cpuacct:/\n", want: 768 << 20},
		{desc: "v1 at the process's cgroup", files: map[string]string{"memory/docker/abc/memory.limit_in_bytes": "268435456\n"},
			procCgroup: "4:memory:/docker/abc\n", want: 256 << 20},
		{desc: "v1 unlimited", files: map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}, procCgroup: "4:memory:/\n"},
		{desc: "no cgroup files", procCgroup: "0::/\n"},
		{desc: "garbage", files: map[string]string{"memory.max": "lots\n"}, procCgroup: "0::/\n"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			for name, content := range tc.files {
				path := filepath.Join(root, name)
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
				require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
			}
			require.Equal(t, tc.want, cgroupMemoryLimit(root, []byte(tc.procCgroup)))
		})
	}
}
