package main

import (
	"fmt"
	"strings"
)

// profileNotes says, for the targets not met, why and what is left: this
// run's floor figures side by side (where the CPU per request sits
// between nginx, the h1 floor and Skyport), what this run's CPU profiles
// put above nginx's figure and above the floor for each layout and scheme
// with a goal row not met, the profiles' buckets and top functions, and
// what a profile cannot show.
func (r *report) profileNotes() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("\n### What the profile shows\n\n")
	if t := r.floorGap(); t != "" {
		w("Where the CPU per request sits in this run's `floor` section (medians of %d to %d interleaved passes; in brackets, the passes' range for the same row, which is how far the machine moved it):\n\n", pairsMin, pairsMax)
		b.WriteString(t)
		w("\n")
	}
	if len(r.floorProfiles) == 0 {
		w("This run took no profile (section `floor` or `floorprofile` skipped).\n\n")
	} else {
		b.WriteString(r.profileMethod())
	}
	b.WriteString(r.profileUnmet())
	b.WriteString(r.profileTables())
	b.WriteString(profileUnseen())
	return b.String()
}

// floorGap is a table, per layout and scheme, of nginx's CPU per request,
// the h1 floor's and Skyport's against it, what Skyport spends above its
// floor and each one's system calls per request.
func (r *report) floorGap() string {
	var b strings.Builder
	for _, sky := range r.floor {
		if sky.proxy != floorSkyport {
			continue
		}
		ngx, ok1 := r.floorFind(sky.layout, sky.scheme, floorNginx)
		h1, ok2 := r.floorFind(sky.layout, sky.scheme, skyportFloor(sky.scheme))
		if !ok1 || !ok2 || ngx.cpuUS <= 0 {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("| layout | scheme | nginx: CPU µs/request | h1 floor: × nginx | Skyport: × nginx | Skyport − floor: µs/request | syscalls/request: nginx · floor · Skyport |\n")
			b.WriteString("|---|---|---:|---:|---:|---:|---|\n")
		}
		fmt.Fprintf(&b, "| %s | %s | %.1f (%.1f–%.1f) | %.2f× (%.1f–%.1f µs) | %.2f× (%.1f–%.1f µs) | %.1f | %s · %s · %s |\n",
			sky.layout, sky.scheme, ngx.cpuUS, ngx.cpuMin, ngx.cpuMax,
			h1.cpuUS/ngx.cpuUS, h1.cpuMin, h1.cpuMax,
			sky.cpuUS/ngx.cpuUS, sky.cpuMin, sky.cpuMax,
			sky.cpuUS-h1.cpuUS, syscalls(ngx), syscalls(h1), syscalls(sky))
	}
	return b.String()
}

func syscalls(f floorRow) string {
	if f.sysPerReq <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f", f.sysPerReq)
}
