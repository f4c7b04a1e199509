package model

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Code is Kong's machine-readable error code.
type Code int

// Kong's error codes (kong/db/errors.lua).
const (
	CodeInvalidPrimaryKey     Code = 1
	CodeSchemaViolation       Code = 2
	CodePrimaryKeyViolation   Code = 3
	CodeForeignKeyViolation   Code = 4
	CodeUniqueViolation       Code = 5
	CodeNotFound              Code = 6
	CodeInvalidOffset         Code = 7
	CodeDatabaseError         Code = 8
	CodeInvalidSize           Code = 9
	CodeInvalidOptions        Code = 11
	CodeOperationUnsupported  Code = 12
	CodeForeignKeysUnresolved Code = 13
	CodeInvalidDeclarative    Code = 14
	CodeReferencedByOthers    Code = 19
)

var codeNames = map[Code]string{
	CodeInvalidPrimaryKey:     "invalid primary key",
	CodeSchemaViolation:       "schema violation",
	CodePrimaryKeyViolation:   "primary key violation",
	CodeForeignKeyViolation:   "foreign key violation",
	CodeUniqueViolation:       "unique constraint violation",
	CodeNotFound:              "not found",
	CodeInvalidOffset:         "invalid offset",
	CodeDatabaseError:         "database error",
	CodeInvalidSize:           "invalid size",
	CodeInvalidOptions:        "invalid options",
	CodeOperationUnsupported:  "operation unsupported",
	CodeForeignKeysUnresolved: "foreign keys unresolved",
	CodeInvalidDeclarative:    "invalid declarative configuration",
	CodeReferencedByOthers:    "referenced by others",
}

// Name returns Kong's name for the code ("schema violation").
func (c Code) Name() string { return codeNames[c] }

// Error is a Kong-style error: a code, its name, a message and, for schema
// violations, per-field messages. The Admin API serializes it as
// {"code","name","message","fields"}.
type Error struct {
	Code    Code           `json:"code"`
	Name    string         `json:"name"`
	Message string         `json:"message"`
	Fields  map[string]any `json:"fields,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// Is matches errors of the same code, so errors.Is(err, &Error{Code: CodeNotFound}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == ""
}

// NewError returns an error with code c and a message.
func NewError(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Name: c.Name(), Message: fmt.Sprintf(format, args...)}
}

// FieldErrors collects per-field messages; paths use dots for nested
// records ("config.minute", "healthchecks.active.timeout").
type FieldErrors map[string]string

// Add records msg for field, keeping the first message for a field.
func (f FieldErrors) Add(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}

// Err returns nil when f is empty, or a schema violation error carrying
// every field, with Kong's message format:
// "2 schema violations (host: required field missing; port: …)".
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + f[k]
	}
	msg := "schema violation"
	if len(keys) > 1 {
		msg = fmt.Sprintf("%d schema violations", len(keys))
	}
	return &Error{
		Code:    CodeSchemaViolation,
		Name:    CodeSchemaViolation.Name(),
		Message: msg + " (" + strings.Join(parts, "; ") + ")",
		Fields:  nestFields(f),
	}
}

// nestFields turns {"a.b": "m"} into {"a": {"b": "m"}}, as Kong nests
// record fields in error bodies; array positions (numbered from 1, as in
// Kong's messages: "paths.2") become arrays, {"paths": [null, "m"]}.
func nestFields(f FieldErrors) map[string]any {
	out := map[string]any{}
	for k, v := range f {
		parts := strings.Split(k, ".")
		m := out
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = v
	}
	for k, v := range out {
		out[k] = arrays(v)
	}
	if v, ok := out["@entity"]; ok {
		// Kong lists the entity checks that failed.
		out["@entity"] = []any{v}
	}
	return out
}

// arrays turns the maps of v whose keys are all positions (1, 2, …) into
// arrays, null where a position has no error.
func arrays(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	highest := 0
	for k, sub := range m {
		m[k] = arrays(sub)
		n, err := strconv.Atoi(k)
		switch {
		case highest < 0:
		case err != nil || n < 1 || strconv.Itoa(n) != k:
			highest = -1
		case n > highest:
			highest = n
		}
	}
	if highest <= 0 || highest > 1000 {
		return m
	}
	list := make([]any, highest)
	for k, sub := range m {
		n, _ := strconv.Atoi(k)
		list[n-1] = sub
	}
	return list
}
