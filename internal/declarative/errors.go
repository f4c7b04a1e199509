package declarative

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
)

// Problem is one error in a declarative document: where, and what.
type Problem struct {
	// Path locates the offending field: "services[0].routes[1].paths[0]".
	Path string
	// Message is Kong's message for it.
	Message string
}

// Error lists every problem found in a document.
type Error struct {
	Problems []Problem
	seen     map[string]bool
}

// Error implements error: every problem, "path: message", joined by "; ".
func (e *Error) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "declarative config is invalid: " + strings.Join(parts, "; ")
}

// String returns "path: message".
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// ToModel returns the problems as Kong reports an invalid declarative
// configuration: code 14 with the fields nested by path.
func (e *Error) ToModel() *model.Error {
	fields := map[string]any{}
	for _, p := range e.Problems {
		insert(fields, segments(p.Path), p.Message)
	}
	fields = compact(fields).(map[string]any)
	return &model.Error{
		Code:    model.CodeInvalidDeclarative,
		Name:    model.CodeInvalidDeclarative.Name(),
		Message: "declarative config is invalid: " + luaString(fields),
		Fields:  fields,
	}
}

// add records a problem, keeping the first one reported at a path.
func (e *Error) add(path, format string, args ...any) {
	if e.seen[path] {
		return
	}
	if e.seen == nil {
		e.seen = map[string]bool{}
	}
	e.seen[path] = true
	e.Problems = append(e.Problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (e *Error) err() error {
	if len(e.Problems) == 0 {
		return nil
	}
	sort.SliceStable(e.Problems, func(i, j int) bool {
		return sortKey(e.Problems[i].Path) < sortKey(e.Problems[j].Path)
	})
	return e
}

// sortKey pads list indices so that services[2] sorts before services[10].
func sortKey(path string) string {
	var b strings.Builder
	for _, s := range segments(path) {
		if n, ok := s.(int); ok {
			fmt.Fprintf(&b, "[%010d]", n)
		} else {
			b.WriteString("." + s.(string))
		}
	}
	return b.String()
}

// segments splits "a[0].b.c" into "a", 0, "b", "c".
func segments(path string) []any {
	var out []any
	for _, part := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name != "" || rest == "" {
			out = append(out, name)
		}
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			n, err := strconv.Atoi(idx)
			if err != nil {
				out = append(out, idx)
			} else {
				out = append(out, n)
			}
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return out
}

// insert puts msg at segs in a tree of maps; list indices are kept as
// marked keys until compact turns them into lists. A message about a
// whole entity that also has field messages goes under "@entity", as
// Kong reports entity checks.
func insert(m map[string]any, segs []any, msg string) {
	for i, s := range segs {
		key := fmt.Sprint(s)
		if n, ok := s.(int); ok {
			key = "\x00" + strconv.Itoa(n)
		}
		if i == len(segs)-1 {
			switch cur := m[key].(type) {
			case nil:
				m[key] = msg
			case map[string]any:
				if _, ok := cur["@entity"]; !ok {
					cur["@entity"] = []any{msg}
				}
			}
			return
		}
		next, ok := m[key].(map[string]any)
		if !ok {
			next = map[string]any{}
			if prev, isMsg := m[key].(string); isMsg {
				next["@entity"] = []any{prev}
			}
			m[key] = next
		}
		m = next
	}
}

// compact turns maps whose keys are all list indices into lists (nil
// where no entry has a problem).
func compact(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	max, isList := -1, len(m) > 0
	for k := range m {
		if !strings.HasPrefix(k, "\x00") {
			isList = false
			continue
		}
		if n, _ := strconv.Atoi(k[1:]); n > max {
			max = n
		}
	}
	if isList {
		list := make([]any, max+1)
		for k, child := range m {
			n, _ := strconv.Atoi(k[1:])
			list[n] = compact(child)
		}
		return list
	}
	out := make(map[string]any, len(m))
	for k, child := range m {
		out[strings.TrimPrefix(k, "\x00")] = compact(child)
	}
	return out
}

// luaString renders fields the way Kong prints a Lua table in the
// message: {services={[1]={host="required field missing"}}}.
func luaString(v any) string {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + luaString(t[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	case []any:
		var parts []string
		for i, child := range t {
			if child != nil {
				parts = append(parts, "["+strconv.Itoa(i+1)+"]="+luaString(child))
			}
		}
		return "{" + strings.Join(parts, ",") + "}"
	default:
		return strconv.Quote(fmt.Sprint(t))
	}
}
