package declarative

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
)

// ParseFile parses a declarative file as Kong does by its name
// (kong/db/declarative/init.lua, unserialize): a name ending in "json" is
// JSON only, strictly (no trailing comma, nothing after the document); one
// ending in "yml" or "yaml" is YAML; any other name is refused. Parse,
// which the Admin API uses, reads either.
func ParseFile(name string, data []byte) (*model.Config, error) {
	switch {
	case strings.HasSuffix(name, "json"):
		if err := strictJSON(data); err != nil {
			return nil, &Error{Problems: []Problem{{Message: "failed parsing declarative configuration: " + oneLine(err.Error())}}}
		}
	case strings.HasSuffix(name, "yml"), strings.HasSuffix(name, "yaml"):
	default:
		return nil, &Error{Problems: []Problem{{Message: fmt.Sprintf("unknown file type: %s. (Accepted types: json, yaml)", filepath.Base(name))}}}
	}
	return Parse(data)
}

// strictJSON checks that data is one JSON value and nothing else.
func strictJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var v any
	if err := dec.Decode(&v); err != nil {
		return jsonError(data, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("unexpected data after the document at character %d", dec.InputOffset()+1)
	}
	return nil
}

// jsonError names where a syntax error is, as a character offset.
func jsonError(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%s at character %d", se.Error(), se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("unexpected end of the document at character %d", len(data))
	}
	return err
}
