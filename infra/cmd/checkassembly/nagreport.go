package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// checkNagReports reads cdk-nag's CSV reports for stack and fails on any
// finding that is neither compliant nor suppressed with a reason.
func checkNagReports(out, stack string, w io.Writer) error {
	reports, err := filepath.Glob(filepath.Join(out, "*-"+stack+"-NagReport.csv"))
	if err != nil || len(reports) == 0 {
		return fmt.Errorf("no cdk-nag report for %s in %s: is the pack applied to the app?", stack, out)
	}
	var errs []error
	for _, path := range reports {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil || len(rows) == 0 {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		counts := map[string]int{}
		for _, row := range rows[1:] {
			if len(row) < 5 {
				return fmt.Errorf("%s: a row of %d fields", path, len(row))
			}
			rule, resource, compliance := row[0], row[1], row[2]
			counts[compliance]++
			switch compliance {
			case "Compliant", "Suppressed", "N/A":
			default:
				errs = append(errs, fmt.Errorf("%s %s: %s (%s)", rule, resource, compliance, row[len(row)-1]))
			}
		}
		fmt.Fprintf(w, "%s: %d compliant, %d suppressed with a reason, %d findings\n",
			filepath.Base(path), counts["Compliant"], counts["Suppressed"], len(rows)-1-counts["Compliant"]-counts["Suppressed"]-counts["N/A"])
	}
	return errors.Join(errs...)
}
