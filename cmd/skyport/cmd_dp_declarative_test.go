package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/admin"
)

// gcTarget stands for the collector's target (debug.SetGCPercent), so
// that the tests neither change the process's nor race over it.
type gcTarget struct {
	mu      sync.Mutex
	percent int
}

func (g *gcTarget) set(percent int) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	prev := g.percent
	g.percent = percent
	return prev
}

func (g *gcTarget) get() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.percent
}

// gcRecorder is an applier that records the collector's target while
// it applies.
type gcRecorder struct {
	gc        *gcTarget
	gcPercent int
	cfg       *model.Config
}

func (r *gcRecorder) Apply(_ context.Context, cfg *model.Config, _ int64, _ string) error {
	r.gcPercent = r.gc.get()
	r.cfg = cfg
	return nil
}

func (r *gcRecorder) Current() (int64, string) { return 0, "" }

// TestLoadDeclarativeGCPercent checks that a declarative load runs with
// the collector's target at most loadGCPercent and puts the process's
// back after it.
func TestLoadDeclarativeGCPercent(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "kong.yml")
	require.NoError(t, os.WriteFile(file, []byte("_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://a.test\n"), 0o600))
	for _, tc := range []struct{ process, during int }{
		{200, loadGCPercent},
		{loadGCPercent + 1, loadGCPercent},
		{20, 20},
		{-1, loadGCPercent},
	} {
		gc := &gcTarget{percent: tc.process}
		r := &gcRecorder{gc: gc}
		err := loadDeclarativeGC(context.Background(), r, file, gc.set)
		require.NoError(t, err)
		require.Equal(t, tc.during, r.gcPercent, "target while loading, process's %d", tc.process)
		require.Equal(t, tc.process, gc.get(), "target after loading")
		require.Len(t, r.cfg.Services, 1)
	}
}

// TestReadDeclarativeBounded checks that a kong.yml larger than a POST
// /config body may be is refused before it is read, in one line.
func TestReadDeclarativeBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "kong.yml")
	f, err := os.Create(big)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(admin.MaxConfigBytes+1)) // sparse: nothing written
	require.NoError(t, f.Close())
	_, err = readDeclarative(big)
	require.ErrorContains(t, err, "more than the 268435456 a configuration may have")
	require.NotContains(t, err.Error(), "\n")

	gc := &gcTarget{percent: 100}
	r := &gcRecorder{gc: gc}
	err = loadDeclarativeGC(context.Background(), r, big, gc.set)
	require.Error(t, err)
	require.Nil(t, r.cfg, "nothing applied")

	exact := filepath.Join(dir, "exact.yml")
	require.NoError(t, os.WriteFile(exact, []byte("_format_version: \"3.0\"\n"), 0o600))
	data, err := readDeclarative(exact)
	require.NoError(t, err)
	require.Equal(t, "_format_version: \"3.0\"\n", string(data))

	_, err = readDeclarative(filepath.Join(dir, "missing.yml"))
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "reading declarative configuration: "))
}

// TestReadDeclarativeNoCopy checks that a kong.yml is read into one
// buffer of its size: no second, larger copy while the load's heap peaks.
func TestReadDeclarativeNoCopy(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kong.yml")
	body := []byte("_format_version: \"3.0\"\n" + strings.Repeat("# comment line\n", 64<<10))
	require.NoError(t, os.WriteFile(file, body, 0o600))
	data, err := readDeclarative(file)
	require.NoError(t, err)
	require.Equal(t, body, data)
	require.LessOrEqual(t, cap(data), len(body)+512, "the file was copied into a larger buffer")
}

// TestReadDeclarativePipe checks that a kong.yml that is not a regular
// file (a named pipe: no size to start from) is read whole.
func TestReadDeclarativePipe(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "kong.yml")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	body := "_format_version: \"3.0\"\n" + strings.Repeat("# comment line\n", 4<<10)
	wrote := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err == nil {
			_, err = f.WriteString(body)
			err = errors.Join(err, f.Close())
		}
		wrote <- err
	}()
	data, err := readDeclarative(fifo)
	require.NoError(t, err)
	require.NoError(t, <-wrote)
	require.Equal(t, body, string(data))
}
