package scale_test

import (
	"runtime/metrics"
	"strings"
	"testing"
)

// logMemClasses logs where the process's memory is, beyond the heap's
// objects (SCALE_MEMDIAG=1, with -v): the runtime's memory classes (its
// span and GC metadata, unused parts of spans, profiling buckets) and the
// resident memory that is the binary's pages (RssFile) or anonymous.
func logMemClasses(b *testing.B) {
	var samples []metrics.Sample
	for _, d := range metrics.All() {
		if strings.HasPrefix(d.Name, "/memory/classes/") && d.Kind == metrics.KindUint64 {
			samples = append(samples, metrics.Sample{Name: d.Name})
		}
	}
	metrics.Read(samples)
	for _, s := range samples {
		b.Logf("%-48s %8.1f MB", s.Name, float64(s.Value.Uint64())/(1<<20))
	}
	for _, field := range []string{"VmRSS:", "RssAnon:", "RssFile:"} {
		b.Logf("%-48s %8.1f MB", field, float64(procStatus(field))/1024)
	}
}
