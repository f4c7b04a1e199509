package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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
		{desc: "too long", files: map[string]string{"memory.max": "1073741824" + strings.Repeat(" ", 100) + "\n"}, procCgroup: "0::/\n"},
		{desc: "too long at the process's cgroup, the root's read", files: map[string]string{
			"dp/memory.max": strings.Repeat("9", 100), "memory.max": "1073741824\n"}, procCgroup: "0::/dp\n", want: 1 << 30},
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

// TestCgroupMemoryLimitReadsOnlyFiles: a memory.max that is not a
// regular file (a FIFO, which blocks a reader until a writer comes) is
// not read; the next place is.
func TestCgroupMemoryLimitReadsOnlyFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root, "dp"), 0o700))
	require.NoError(t, syscall.Mkfifo(filepath.Join(root, "dp", "memory.max"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(root, "memory.max"), []byte("536870912\n"), 0o600))
	done := make(chan int64, 1)
	go func() { done <- cgroupMemoryLimit(root, []byte("0::/dp\n")) }()
	select {
	case got := <-done:
		require.Equal(t, int64(512<<20), got)
	case <-time.After(time.Minute): // a hang guard
		t.Fatal("reading a FIFO blocked")
	}
}

// TestCgroupMemoryLimitStaysUnderRoot: a cgroup path outside the
// namespace's root ("/../x", as /proc/self/cgroup shows a process in a
// cgroup the namespace does not hold) reads no file outside root; the
// root's limit is read.
func TestCgroupMemoryLimitStaysUnderRoot(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc, procCgroup, outside string
		v1                        bool // no cgroup v2 files
	}{
		{desc: "v2", procCgroup: "0::/../outside\n", outside: "outside/memory.max"},
		{desc: "v1", procCgroup: "4:memory:/../../outside\n", outside: "outside/memory.limit_in_bytes", v1: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			root := filepath.Join(dir, "cgroup")
			for name, content := range map[string]string{
				tc.outside:                            "1073741824\n",
				"cgroup/memory.max":                   "536870912\n",
				"cgroup/memory/memory.limit_in_bytes": "536870912\n",
			} {
				path := filepath.Join(dir, name)
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
				require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
			}
			if tc.v1 {
				require.NoError(t, os.Remove(filepath.Join(root, "memory.max")))
			}
			require.Equal(t, int64(512<<20), cgroupMemoryLimit(root, []byte(tc.procCgroup)))
		})
	}
}
