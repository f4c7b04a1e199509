//go:build linux && !race

package loop

// taskGID is 0: goroutines are told apart in race-enabled builds only.
func taskGID() int64 { return 0 }

// onTask is true: a park from a goroutine that is not the running task's
// goes undetected (and is undefined) outside race-enabled builds.
func onTask(*task) bool { return true }
