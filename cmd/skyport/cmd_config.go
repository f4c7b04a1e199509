package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/internal/declarative"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

const configUsage = `Usage: skyport config <subcommand> [flags] ...

Subcommands:
  validate FILE                     check a kong.yml (YAML or JSON); exit non-zero listing every error
  convert [flags] IN [OUT]          normalize IN and write it as YAML, JSON or a signed snapshot
  push FILE [flags]                 load FILE through the Admin API as an import job, showing its progress

Run 'skyport config <subcommand> --help' for its flags.
`

// runConfig implements "skyport config validate|convert|push".
func runConfig(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, configUsage)
		return errUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, configUsage)
		return nil
	case "validate":
		return runConfigValidate(args[1:], stdout, stderr)
	case "convert":
		return runConfigConvert(args[1:], stdout, stderr)
	case "push":
		return runConfigPush(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "skyport config: unknown subcommand %q\n\n%s", args[0], configUsage)
	return errUsage
}

// loadConfig reads and parses a declarative file; a validation failure
// is printed to stderr, one problem per line, and returned as a short error.
func loadConfig(path string, stderr io.Writer) (*model.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	cfg, err := declarative.ParseFile(path, data)
	var de *declarative.Error
	if errors.As(err, &de) {
		for _, p := range de.Problems {
			fmt.Fprintf(stderr, "%s: %s\n", path, p)
		}
		return nil, fmt.Errorf("%s: invalid declarative configuration (%d %s)", path,
			len(de.Problems), plural(len(de.Problems), "error", "errors"))
	}
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return cfg, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func runConfigValidate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("skyport config validate", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: skyport config validate FILE\n\nChecks a kong.yml (YAML or JSON) and lists every error with its path.")
	}
	if err := parseOnlyFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	path := fs.Arg(0)
	cfg, err := loadConfig(path, stderr)
	if err != nil {
		return err
	}
	// The data plane's own plugin compiler: what validates is what runs.
	set, err := plugin.Build(plugins.Registry(), cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	_ = set.Close() // nothing was started: loggers start on their first entry
	fmt.Fprintf(stdout, "%s: ok (%d %s)\n", path, cfg.Len(), plural(cfg.Len(), "entity", "entities"))
	return nil
}

// convertOptions are the flags of "skyport config convert".
type convertOptions struct {
	To         string
	Revision   int64
	SigningKey string
}

func runConfigConvert(args []string, stdout, stderr io.Writer) error {
	var o convertOptions
	fs := flag.NewFlagSet("skyport config convert", flag.ContinueOnError)
	fs.StringVar(&o.To, "to", "yaml", "output format: yaml, json or snapshot (a signed .json.gz and its pointer)")
	fs.Int64Var(&o.Revision, "revision", 1, "revision of a snapshot")
	fs.StringVar(&o.SigningKey, "signing-key", "", "Ed25519 private key (file, PEM or base64) that signs a snapshot; default: a new key whose public half is written to OUT.pub")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: skyport config convert [flags] IN [OUT]\n\nNormalizes IN (kong.yml, YAML or JSON) and writes it to OUT (default: standard output).\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseOnlyFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		fs.Usage()
		return errUsage
	}
	in, out := fs.Arg(0), fs.Arg(1)
	cfg, err := loadConfig(in, stderr)
	if err != nil {
		return err
	}
	switch strings.ToLower(o.To) {
	case "yaml", "yml":
		return writeExport(declarative.Export, cfg, out, stdout)
	case "json":
		return writeExport(declarative.ExportJSON, cfg, out, stdout)
	case "snapshot":
		if out == "" {
			return fmt.Errorf("--to snapshot needs OUT, the .json.gz file to write")
		}
		return writeSnapshot(cfg, o, out, stdout)
	}
	return fmt.Errorf("--to %q: expected yaml, json or snapshot", o.To)
}

func writeExport(export func(*model.Config) ([]byte, error), cfg *model.Config, out string, stdout io.Writer) error {
	data, err := export(cfg)
	if err != nil {
		return err
	}
	if out == "" {
		_, err := stdout.Write(data)
		return err
	}
	return snapshot.WriteFileAtomic(out, data, 0o644)
}

// writeSnapshot seals cfg at the requested revision into out, writes the
// pointer to out.pointer.json and prints it. Without --signing-key a
// throwaway key signs it and its public half goes to out.pub.
func writeSnapshot(cfg *model.Config, o convertOptions, out string, stdout io.Writer) error {
	if o.Revision < 1 {
		return fmt.Errorf("--revision %d: must be at least 1", o.Revision)
	}
	var priv ed25519.PrivateKey
	if o.SigningKey != "" {
		k, err := snapshot.LoadPrivateKey(o.SigningKey)
		if err != nil {
			return err
		}
		priv = k
	} else {
		pub, k, err := snapshot.GenerateKey()
		if err != nil {
			return err
		}
		pemPub, err := snapshot.MarshalPublicKey(pub)
		if err != nil {
			return err
		}
		if err := snapshot.WriteFileAtomic(out+".pub", pemPub, 0o644); err != nil {
			return err
		}
		priv = k
	}
	data, ptr, err := snapshot.Seal(&snapshot.Document{Revision: o.Revision, Config: *cfg}, priv, time.Now())
	if err != nil {
		return fmt.Errorf("sealing snapshot: %w", err)
	}
	if err := snapshot.WriteFileAtomic(out, data, 0o644); err != nil {
		return err
	}
	pj, err := json.MarshalIndent(ptr, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding pointer: %w", err)
	}
	pj = append(pj, '\n')
	if err := snapshot.WriteFileAtomic(out+".pointer.json", pj, 0o644); err != nil {
		return err
	}
	_, err = stdout.Write(pj)
	return err
}
