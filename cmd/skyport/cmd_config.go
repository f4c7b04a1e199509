package main

import (
	"context"
	"fmt"
	"io"
)

// runConfig implements "skyport config validate|convert" (foundation work).
func runConfig(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("not implemented yet")
}
