package main

import (
	"fmt"
	"os"
	"testing"
)

// runAsSkyport makes the test binary run as the skyport command: the
// tests that need a real process start this very binary with it set, so
// no test builds the command again (a cold build of it took minutes on a
// loaded machine), and those processes run with the test's race detector.
const runAsSkyport = "SKYPORT_TEST_RUN_AS_SKYPORT"

func TestMain(m *testing.M) {
	if os.Getenv(runAsSkyport) == "1" {
		main()
		return
	}
	if err := os.Setenv(runAsSkyport, "1"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// buildSkyport returns the skyport command to start: this test binary
// (see runAsSkyport).
func buildSkyport(t *testing.T) string {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatalf("finding the test binary: %v", err)
	}
	return bin
}
