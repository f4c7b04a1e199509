// Command kongyml writes a generated declarative configuration of about
// -entities entities (bench/scale's shape: consumers with key-auth
// credentials, services with routes) to standard output:
//
//	go run ./bench/scale/kongyml -entities 1000000 > kong.yml
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/skyport-gw/skyport/bench/scale"
)

func main() {
	n := flag.Int("entities", 10000, "about how many entities")
	asJSON := flag.Bool("json", false, "write JSON instead of YAML")
	flag.Parse()
	f := scale.YAML
	if *asJSON {
		f = scale.JSON
	}
	shape := scale.ShapeFor(*n)
	if err := scale.Write(os.Stdout, shape, f); err != nil {
		fmt.Fprintln(os.Stderr, "kongyml:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "kongyml: %d consumers with a key-auth credential each, %d services with %d routes each: %d entities\n",
		shape.Consumers, shape.Services, scale.RoutesPerService, shape.Entities())
}
