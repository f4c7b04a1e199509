//go:build race

package tests

// raceEnabled: the tests run with the race detector, and so does the
// skyport binary they build (it then reuses the packages the tests
// compiled instead of compiling every one again without it).
const raceEnabled = true
