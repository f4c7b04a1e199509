package pluginschema

import "strconv"

// The metrics plugins (kong/plugins/statsd, kong/plugins/datadog).

func init() {
	register("statsd", 11, checkStatsd)
	register("datadog", 10, checkStatsd)
}

// checkStatsd is the host check and each metric's entity check: a
// counter or gauge needs a sample_rate (statsd's and datadog's).
func checkStatsd(cfg map[string]any) map[string]string {
	var errs map[string]string
	if h, _ := cfg["host"].(string); h != "" {
		if msg := checkHost(h); msg != "" {
			errs = merge(errs, map[string]string{"host": msg})
		}
	}
	metrics, _ := cfg["metrics"].([]any)
	for i, m := range metrics {
		rec, _ := m.(map[string]any)
		switch rec["stat_type"] {
		case "counter", "gauge":
			if rec["sample_rate"] == nil {
				errs = merge(errs, map[string]string{"metrics." + strconv.Itoa(i+1) + ".sample_rate": msgRequired})
			}
		}
	}
	return errs
}
