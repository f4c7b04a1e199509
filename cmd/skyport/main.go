// Command skyport is Skyport's one CLI:
//
//	skyport local     the control plane and a data plane in one process (embedded store)
//	skyport dp        a data plane
//	skyport config    validate and convert declarative configuration
//	skyport wait      wait until a data plane runs a revision
//	skyport version   print the version, commit and Go version
//
// main.go and the cmd_*.go files beside it are the only composition root:
// they read flags and the environment, build clients and wire packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version and commit are set at build time with
// -ldflags "-X main.version=… -X main.commit=…"; without a commit, the
// one the Go toolchain stamped (a build in a git checkout) is reported.
var (
	version = "0.1.0-dev"
	commit  = ""
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"local", "run the control plane and a data plane on this machine", runLocal},
		{"dp", "run a data plane", runDP},
		{"config", "validate, convert and push declarative configuration (kong.yml)", runConfig},
		{"health", "exit 0 when the local data plane has a configuration (container health check)", runHealth},
		{"wait", "wait until a data plane runs a revision (an Admin API write's X-Skyport-Revision)", runWait},
		{"version", "print the version, commit and Go version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		usage(stderr)
		return 2
	case args[0] == "-h" || args[0] == "--help" || args[0] == "help":
		usage(stdout)
		return 0
	case args[0] == "--version" || args[0] == "-version":
		args = []string{"version"}
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			default:
				fmt.Fprintf(stderr, "skyport %s: %s\n", c.name, oneLine(err.Error()))
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "skyport: unknown command %q (see skyport --help)\n", args[0])
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Skyport: an API gateway with a serverless control plane.")
	fmt.Fprintln(w, "\nUsage: skyport <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'skyport <command> --help' for a command's flags.")
}

// errUsage marks an error already reported with the command's usage.
var errUsage = errors.New("usage")

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// envName is the environment twin of a flag: --cp-url ⇔ SKYPORT_CP_URL.
func envName(flagName string) string {
	return "SKYPORT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyEnv sets every flag of fs that was not given on the command line
// from its environment twin; flags win.
func applyEnv(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, e)
			}
		}
	})
	return err
}

// parseFlags parses args into fs, then the environment twins of the
// flags not given, printing usage (with an example twin) on --help. The
// long-running commands (local, dp, health) take their settings this way.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	defaultUsage := fs.Usage
	fs.Usage = func() {
		defaultUsage()
		if f := twinExample(fs); f != "" {
			fmt.Fprintf(fs.Output(), "\nEvery flag has an environment twin: --%s ⇔ %s; flags win.\n", f, envName(f))
		}
	}
	if err := parseOnlyFlags(fs, args, stderr); err != nil {
		return err
	}
	return applyEnv(fs)
}

// parseOnlyFlags parses args into fs, without environment twins (the
// one-shot commands: config, wait).
func parseOnlyFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

// twinExample names a flag of fs to show its environment twin: a
// well-known one when fs has it, else its first; "" when it has none.
func twinExample(fs *flag.FlagSet) string {
	for _, name := range []string{"cp-url", "admin-listen", "status-listen"} {
		if fs.Lookup(name) != nil {
			return name
		}
	}
	first := ""
	fs.VisitAll(func(f *flag.Flag) {
		if first == "" {
			first = f.Name
		}
	})
	return first
}
