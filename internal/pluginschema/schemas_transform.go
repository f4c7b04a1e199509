package pluginschema

import (
	"regexp"
	"strconv"
	"strings"
)

// The transformation and observability plugins (kong/plugins/*/schema.lua).

func init() {
	register("request-transformer", 801, nil)
	register("response-transformer", 800, checkResponseTransformer)
	register("correlation-id", 100001, nil)
	register("prometheus", 13, nil)
}

// headerName is Kong's validate_header_name (kong/tools/http.lua).
var headerName = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// checkResponseTransformer is the custom validator of
// response-transformer's rename.headers elements
// (validate_colon_headers): the old and the new name, parsed as the
// plugin parses them (Lua's "^([^:]+):*(.-)$": every colon after the
// first skipped), must each be a valid header name.
func checkResponseTransformer(cfg map[string]any) map[string]string {
	rename, _ := cfg["rename"].(map[string]any)
	list, _ := rename["headers"].([]any)
	var errs map[string]string
	for i, v := range list {
		s, _ := v.(string)
		name, value, _ := strings.Cut(s, ":")
		value = strings.TrimLeft(value, ":")
		for _, n := range []string{name, value} {
			if !headerName.MatchString(n) {
				errs = merge(errs, map[string]string{"rename.headers." + strconv.Itoa(i+1): "'" + n + "' is not a valid header"})
				break
			}
		}
	}
	return errs
}
