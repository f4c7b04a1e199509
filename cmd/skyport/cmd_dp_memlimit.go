package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// containerMemoryShare is the share of the container's memory limit that
// skyport dp takes as its soft limit when GOMEMLIMIT is not set: with
// --gc-percent 200 the heap may grow to three times what is live, and the
// limit makes the collector run sooner near the container's limit rather
// than the kernel kill the process; the rest is for what the runtime does
// not count (stacks, the binary, the kernel's buffers).
const containerMemoryShare = 0.9

// cgroupMemoryLimit returns the memory limit of the cgroup the process
// runs in, read under root (/sys/fs/cgroup) by procCgroup (the content
// of /proc/self/cgroup): cgroup v2's memory.max, else v1's
// memory.limit_in_bytes; 0 when there is none ("max", or v1's unlimited
// value) or it cannot be read.
func cgroupMemoryLimit(root string, procCgroup []byte) int64 {
	var v2, v1 string
	sc := bufio.NewScanner(bytes.NewReader(procCgroup))
	for sc.Scan() {
		id, rest, _ := strings.Cut(sc.Text(), ":")
		controllers, path, _ := strings.Cut(rest, ":")
		switch {
		case id == "0" && controllers == "":
			v2 = path
		case controllers == "memory" || strings.Contains(","+controllers+",", ",memory,"):
			v1 = path
		}
	}
	// Inside a cgroup namespace (a container) the process's cgroup is the
	// root; outside, its path names it.
	for _, c := range []struct{ dir, file string }{
		{under(root, v2), "memory.max"},
		{root, "memory.max"},
		{under(filepath.Join(root, "memory"), v1), "memory.limit_in_bytes"},
		{filepath.Join(root, "memory"), "memory.limit_in_bytes"},
	} {
		raw, err := readSmall(filepath.Join(c.dir, c.file), 64)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(raw))
		if s == "max" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			continue
		}
		if n >= 1<<62 { // v1's "unlimited" (a page-rounded MaxInt64)
			return 0
		}
		return n
	}
	return 0
}

// under returns the directory of cgroup path below root; root itself for
// a path that is not below the namespace's root ("/../x": a process in a
// cgroup outside the namespace it sees, whose own files it cannot reach).
func under(root, path string) string {
	rel := strings.TrimPrefix(path, "/")
	if !filepath.IsLocal(rel) {
		return root
	}
	return filepath.Join(root, rel)
}

// containerMemoryLimit is the process's cgroup memory limit, 0 when none.
func containerMemoryLimit() int64 {
	procCgroup, err := readSmall("/proc/self/cgroup", 64<<10)
	if err != nil {
		return 0
	}
	return cgroupMemoryLimit("/sys/fs/cgroup", procCgroup)
}

// readSmall reads the regular file at path (the kernel's cgroup and proc
// files are), at most max bytes; a longer one is refused.
func readSmall(path string, max int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: longer than %d bytes", path, max)
	}
	return data, nil
}
