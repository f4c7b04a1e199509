package main

import (
	"context"
	"fmt"
	"io"
)

// runLocal implements "skyport local" (publication work).
func runLocal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("not implemented yet")
}
