package main

import (
	"context"
	"fmt"
	"io"
)

// runDP implements "skyport dp" (data plane work).
func runDP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("not implemented yet")
}
