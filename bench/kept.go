package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// Hand-kept text in BENCHMARKS.md (measurements made on demand, such as
// the Lambda cold starts and the scale runs, and notes on a generated
// table) sits between these markers, each on a line of its own. The
// generator carries every kept block over to the report it writes, at
// the end of the "## " section it was in, so `make bench` never drops it.
const (
	keptStart = "<!-- kept -->"
	keptEnd   = "<!-- /kept -->"
)

// keptBlock is one kept block, markers included, and the "## " heading
// of the section it was in ("" before the first).
type keptBlock struct {
	section string
	text    string
}

// keptBlocks returns doc's kept blocks in order. An unterminated block
// is an error: writing the report would lose the text after it.
func keptBlocks(doc string) ([]keptBlock, error) {
	var blocks []keptBlock
	var cur *strings.Builder
	section := ""
	sc := bufio.NewScanner(strings.NewReader(doc))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == keptStart:
			cur = &strings.Builder{}
			cur.WriteString(line + "\n")
		case cur != nil && strings.TrimSpace(line) == keptEnd:
			cur.WriteString(line + "\n")
			blocks = append(blocks, keptBlock{section: section, text: cur.String()})
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		case strings.HasPrefix(line, "## "):
			section = strings.TrimSpace(line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading kept sections: %w", err)
	}
	if cur != nil {
		return nil, fmt.Errorf("a %s block has no %s", keptStart, keptEnd)
	}
	return blocks, nil
}

// withKept inserts each block at the end of its section in doc (before
// the next "## " heading); a block whose section doc does not have goes
// at the end.
func withKept(doc string, blocks []keptBlock) string {
	if len(blocks) == 0 {
		return doc
	}
	lines := strings.SplitAfter(doc, "\n")
	var b strings.Builder
	section := ""
	placed := make([]bool, len(blocks))
	flush := func() {
		for i, k := range blocks {
			if !placed[i] && k.section == section {
				b.WriteString(separated(b.String()) + k.text + "\n")
				placed[i] = true
			}
		}
	}
	for _, line := range lines {
		if strings.HasPrefix(line, "## ") {
			flush()
			section = strings.TrimSpace(line)
		}
		b.WriteString(line)
	}
	flush()
	for i, k := range blocks {
		if !placed[i] {
			b.WriteString(separated(b.String()) + k.text + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// separated returns what makes the text so far end with a blank line.
func separated(sofar string) string {
	switch {
	case sofar == "" || strings.HasSuffix(sofar, "\n\n"):
		return ""
	case strings.HasSuffix(sofar, "\n"):
		return "\n"
	}
	return "\n\n"
}

// maxReport bounds the report read for its kept blocks.
const maxReport = 4 << 20

// keepFrom reads the kept blocks of the report at path, if there is one.
func keepFrom(path string) ([]keptBlock, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxReport+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > maxReport {
		return nil, fmt.Errorf("reading %s: larger than %d bytes", path, maxReport)
	}
	blocks, err := keptBlocks(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return blocks, nil
}
