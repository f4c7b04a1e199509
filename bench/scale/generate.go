// Package scale generates large declarative configurations, the shape of a
// big Kong shop (most entities are consumers with key-auth credentials,
// the rest services with routes), and measures what the control plane and
// the data plane do with them: loading through POST /config, paging the
// Admin API, resident memory. Its benchmarks are the scale rows of
// BENCHMARKS.md.
package scale

import (
	"bufio"
	"fmt"
	"io"
)

// RoutesPerService is how many routes each generated service carries.
const RoutesPerService = 3

// Shape says how many entities of each kind a generated configuration has.
type Shape struct {
	Consumers int // each with one key-auth credential
	Services  int // each with RoutesPerService routes
}

// ShapeFor returns a shape of about n entities: 80% consumers and their
// credentials, 20% services and their routes, plus the global key-auth
// plugin that makes every data plane index the credentials.
func ShapeFor(n int) Shape {
	services := max(1, n/5/(1+RoutesPerService))
	consumers := max(1, (n-services*(1+RoutesPerService))/2)
	return Shape{Consumers: consumers, Services: services}
}

// Entities is the number of entities the shape generates.
func (s Shape) Entities() int {
	return 2*s.Consumers + s.Services*(1+RoutesPerService) + 1
}

// Format is the syntax Write emits.
type Format int

// The formats: kong.yml's YAML, or the same document as JSON.
const (
	YAML Format = iota
	JSON
)

// Write writes the declarative configuration of shape s to w. Names, keys
// and hosts are numbered, so the document is the same on every call. A
// failed write sticks to the buffered writer and surfaces at its Flush.
func Write(w io.Writer, s Shape, f Format) error {
	b := bufio.NewWriterSize(w, 64<<10)
	if f == JSON {
		writeJSON(b, s)
	} else {
		writeYAML(b, s)
	}
	return b.Flush()
}

func writeYAML(b *bufio.Writer, s Shape) {
	fmt.Fprint(b, "_format_version: \"3.0\"\nplugins:\n- name: key-auth\nservices:\n")
	for i := range s.Services {
		fmt.Fprintf(b, "- name: svc-%d\n  url: http://upstream-%d.internal:8080/v1\n  routes:\n", i, i%64)
		for j := range RoutesPerService {
			fmt.Fprintf(b, "  - name: route-%d-%d\n    hosts: [api-%d.example.test]\n    paths: [/r%d]\n", i, j, i, j)
		}
	}
	fmt.Fprint(b, "consumers:\n")
	for i := range s.Consumers {
		fmt.Fprintf(b, "- username: user-%d\n  custom_id: cid-%d\n  keyauth_credentials:\n  - key: key-%016x\n", i, i, uint64(i)*0x9e3779b97f4a7c15)
	}
}

func writeJSON(b *bufio.Writer, s Shape) {
	fmt.Fprint(b, "{\"_format_version\":\"3.0\",\"plugins\":[{\"name\":\"key-auth\"}],\"services\":[")
	for i := range s.Services {
		if i > 0 {
			fmt.Fprint(b, ",")
		}
		fmt.Fprintf(b, "\n{\"name\":\"svc-%d\",\"url\":\"http://upstream-%d.internal:8080/v1\",\"routes\":[", i, i%64)
		for j := range RoutesPerService {
			if j > 0 {
				fmt.Fprint(b, ",")
			}
			fmt.Fprintf(b, "{\"name\":\"route-%d-%d\",\"hosts\":[\"api-%d.example.test\"],\"paths\":[\"/r%d\"]}", i, j, i, j)
		}
		fmt.Fprint(b, "]}")
	}
	fmt.Fprint(b, "],\"consumers\":[")
	for i := range s.Consumers {
		if i > 0 {
			fmt.Fprint(b, ",")
		}
		fmt.Fprintf(b, "\n{\"username\":\"user-%d\",\"custom_id\":\"cid-%d\",\"keyauth_credentials\":[{\"key\":\"key-%016x\"}]}", i, i, uint64(i)*0x9e3779b97f4a7c15)
	}
	fmt.Fprint(b, "]}\n")
}
