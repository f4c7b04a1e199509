package pluginschema

import (
	"errors"
	"strconv"

	"github.com/skyport-gw/skyport/internal/corsorigin"
)

// checkCORS compiles the origins with the data plane's own compiler
// (internal/corsorigin), so that what the Admin API and `skyport config
// validate` accept is what a data plane runs: "*", plain origins and
// regular expressions; an expression that does not compile is refused
// with Kong's message (kong/plugins/cors/schema.lua).
func checkCORS(cfg map[string]any) map[string]string {
	list, _ := cfg["origins"].([]any)
	origins := make([]string, 0, len(list))
	for _, v := range list {
		s, _ := v.(string)
		origins = append(origins, s)
	}
	_, err := corsorigin.Compile(origins)
	var oe *corsorigin.Error
	if errors.As(err, &oe) {
		return map[string]string{"origins." + strconv.Itoa(oe.Index+1): oe.Message()}
	}
	return nil
}
