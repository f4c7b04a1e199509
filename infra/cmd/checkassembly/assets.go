package main

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// manifest is the part of <stack>.assets.json this command reads.
type manifest struct {
	Files map[string]struct {
		DisplayName string `json:"displayName"`
		Source      struct {
			Path      string `json:"path"`
			Packaging string `json:"packaging"`
		} `json:"source"`
	} `json:"files"`
	DockerImages map[string]struct {
		DisplayName string `json:"displayName"`
		Source      struct {
			Directory         string            `json:"directory"`
			DockerFile        string            `json:"dockerFile"`
			DockerBuildArgs   map[string]string `json:"dockerBuildArgs"`
			DockerBuildTarget string            `json:"dockerBuildTarget"`
			Platform          string            `json:"platform"`
			Executable        []string          `json:"executable"`
		} `json:"source"`
	} `json:"dockerImages"`
}

// template is the part of the CloudFormation template this command reads.
type template struct {
	Resources map[string]struct {
		Type       string `json:"Type"`
		Properties struct {
			Runtime       string   `json:"Runtime"`
			Architectures []string `json:"Architectures"`
			Code          struct {
				S3Key any `json:"S3Key"`
			} `json:"Code"`
		} `json:"Properties"`
	} `json:"Resources"`
}

// buildImages builds each Docker image asset as the CDK CLI's
// docker.build does, checks the image's platform, and removes the tag.
func buildImages(ctx context.Context, out string, m manifest, w io.Writer) error {
	var errs []error
	for _, hash := range sortedKeys(m.DockerImages) {
		img := m.DockerImages[hash]
		if len(img.Source.Executable) > 0 {
			errs = append(errs, fmt.Errorf("image %s: built by an executable, which this check does not run", img.DisplayName))
			continue
		}
		dir := filepath.Join(out, img.Source.Directory)
		tag := "cdkasset-" + hash[:12]
		args := []string{"build", "--tag", tag}
		for _, k := range sortedKeys(img.Source.DockerBuildArgs) {
			args = append(args, "--build-arg", k+"="+img.Source.DockerBuildArgs[k])
		}
		if img.Source.DockerBuildTarget != "" {
			args = append(args, "--target", img.Source.DockerBuildTarget)
		}
		if img.Source.DockerFile != "" {
			args = append(args, "--file", filepath.Join(dir, img.Source.DockerFile))
		}
		if img.Source.Platform != "" {
			args = append(args, "--platform", img.Source.Platform)
		}
		args = append(args, dir)
		fmt.Fprintf(w, "image %s: docker %s\n", img.DisplayName, strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, "docker", args...)
		if outb, err := cmd.CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("image %s: docker build: %w\n%s", img.DisplayName, err, outb))
			continue
		}
		got, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", tag).Output()
		if err != nil {
			errs = append(errs, fmt.Errorf("image %s: inspecting %s: %w", img.DisplayName, tag, err))
		} else if want := img.Source.Platform; want != "" && strings.TrimSpace(string(got)) != want {
			errs = append(errs, fmt.Errorf("image %s: built for %s, the asset names %s", img.DisplayName, strings.TrimSpace(string(got)), want))
		} else {
			fmt.Fprintf(w, "image %s: built for %s\n", img.DisplayName, strings.TrimSpace(string(got)))
		}
		_ = exec.CommandContext(ctx, "docker", "image", "rm", "--no-prune", tag).Run()
	}
	return errors.Join(errs...)
}

// checkBootstraps finds each provided.* function's code asset and checks
// it holds an executable bootstrap for the function's architecture.
func checkBootstraps(out string, m manifest, tpl template, w io.Writer) error {
	var errs []error
	for _, id := range sortedKeys(tpl.Resources) {
		r := tpl.Resources[id]
		if r.Type != "AWS::Lambda::Function" || !strings.HasPrefix(r.Properties.Runtime, "provided") {
			continue
		}
		key, _ := r.Properties.Code.S3Key.(string)
		asset, ok := m.Files[strings.TrimSuffix(key, ".zip")]
		if !ok || asset.Source.Packaging != "zip" {
			errs = append(errs, fmt.Errorf("function %s: no zip asset for code %v", id, r.Properties.Code.S3Key))
			continue
		}
		arch := "x86_64"
		if len(r.Properties.Architectures) > 0 {
			arch = r.Properties.Architectures[0]
		}
		path := filepath.Join(out, asset.Source.Path, "bootstrap")
		if err := checkBootstrap(path, arch); err != nil {
			errs = append(errs, fmt.Errorf("function %s: %w", id, err))
			continue
		}
		fmt.Fprintf(w, "function %s: %s holds bootstrap for %s\n", id, asset.Source.Path, arch)
	}
	return errors.Join(errs...)
}

func checkBootstrap(path, arch string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("no bootstrap: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file (%s)", path, fi.Mode())
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s is not an ELF executable: %w", path, err)
	}
	defer f.Close()
	want := map[string]elf.Machine{"arm64": elf.EM_AARCH64, "x86_64": elf.EM_X86_64}[arch]
	if f.Machine != want {
		return fmt.Errorf("%s is built for %s, the function runs on %s", path, f.Machine, arch)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
