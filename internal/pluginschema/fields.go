package pluginschema

import (
	"fmt"
	"strings"
)

// Entity checks, with Kong's messages.

func atLeastOneOf(cfg map[string]any, names ...string) map[string]string {
	for _, n := range names {
		if !empty(cfg[n]) {
			return nil
		}
	}
	return map[string]string{"@entity": "at least one of these fields must be non-empty: " + quoteFields(names)}
}

func onlyOneOf(cfg map[string]any, names ...string) map[string]string {
	set := 0
	for _, n := range names {
		if !empty(cfg[n]) {
			set++
		}
	}
	if set > 1 {
		return map[string]string{"@entity": "only one of these fields must be non-empty: " + quoteFields(names)}
	}
	return nil
}

func quoteFields(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("'config.%s'", n)
	}
	return strings.Join(q, ", ")
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	}
	return false
}

func merge(dst map[string]string, src map[string]string) map[string]string {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]string{}
	}
	for k, v := range src {
		if _, ok := dst[k]; !ok {
			dst[k] = v
		}
	}
	return dst
}
