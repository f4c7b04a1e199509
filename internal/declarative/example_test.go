package declarative_test

import (
	"errors"
	"fmt"

	"github.com/skyport-gw/skyport/internal/declarative"
)

func ExampleParse() {
	cfg, err := declarative.Parse([]byte(`
_format_version: "3.0"
services:
  - name: echo
    url: https://echo.internal/v1
    routes:
      - name: echo
        paths: [/echo]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	s := cfg.Services[0]
	fmt.Println(s.Protocol, s.Host, s.Port, *s.Path)
	fmt.Println(cfg.Routes[0].Service.ID == s.ID)
	// Output:
	// https echo.internal 443 /v1
	// true
}

func ExampleError() {
	_, err := declarative.Parse([]byte(`
_format_version: "3.0"
services:
  - name: echo
    routes:
      - paths: [echo]
`))
	var de *declarative.Error
	if errors.As(err, &de) {
		for _, p := range de.Problems {
			fmt.Println(p)
		}
		fmt.Println(de.ToModel().Code)
	}
	// Output:
	// services[0].host: required field missing
	// services[0].routes[0].paths[0]: should start with: / (fixed path) or ~/ (regex path)
	// 14
}
