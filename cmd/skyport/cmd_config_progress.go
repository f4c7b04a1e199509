package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/skyport-gw/skyport/lambdas/imports"
)

// barWidth is the progress bar's width in characters.
const barWidth = 30

// progress shows an import's progress: a bar redrawn in place on a
// terminal, otherwise a plain line whenever the state or the tenth of
// the work done changes.
type progress struct {
	w    io.Writer
	tty  bool
	last string
	drew bool
}

func newProgress(w io.Writer) *progress { return &progress{w: w, tty: isTerminal(w)} }

// show draws job's progress; what overrides the state's name.
func (p *progress) show(job imports.Job, what string) {
	if what == "" {
		what = job.State
	}
	pct := 0
	if job.Total > 0 {
		pct = job.Written * 100 / job.Total
	}
	if job.State == imports.StateSucceeded {
		pct = 100
	}
	counts := ""
	if job.Total > 0 {
		counts = fmt.Sprintf(" %d/%d entities", job.Written, job.Total)
	}
	if p.tty {
		filled := pct * barWidth / 100
		line := fmt.Sprintf("\r[%s%s] %3d%% %s%s", strings.Repeat("#", filled), strings.Repeat(" ", barWidth-filled), pct, what, counts)
		if line != p.last {
			fmt.Fprintf(p.w, "%s\x1b[K", line)
			p.last, p.drew = line, true
		}
		return
	}
	line := fmt.Sprintf("import %s: %s %d%%%s", job.ID, what, pct/10*10, counts)
	key := fmt.Sprintf("%s %d", what, pct/10)
	if key != p.last {
		fmt.Fprintln(p.w, line)
		p.last = key
	}
}

// done ends the bar's line on a terminal.
func (p *progress) done() {
	if p.tty && p.drew {
		fmt.Fprintln(p.w)
		p.drew = false
	}
}
