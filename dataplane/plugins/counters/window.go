package counters

import "time"

// Periods are Kong's rate-limiting windows, shortest first.
var Periods = [...]string{"second", "minute", "hour", "day", "month", "year"}

// expirations are Kong's window lengths (a month counts 30 days, a year
// 365): the TTL of a counter created in the window.
var expirations = map[string]time.Duration{
	"second": time.Second, "minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour,
	"month": 30 * 24 * time.Hour, "year": 365 * 24 * time.Hour,
}

// Expiration returns the TTL of a counter of period.
func Expiration(period string) time.Duration { return expirations[period] }

// WindowStart returns the start of period's window containing now, in
// Unix milliseconds as Kong's timestamp.get_timestamps does (the part of
// Kong's counter keys that names the window): aligned on the second,
// minute, hour, UTC day, first of the UTC month and first of the UTC
// year.
func WindowStart(period string, now time.Time) int64 {
	u := now.UTC()
	s := u.Unix()
	switch period {
	case "second":
	case "minute":
		s -= s % 60
	case "hour":
		s -= s % 3600
	case "day":
		s -= s % 86400
	case "month":
		s = time.Date(u.Year(), u.Month(), 1, 0, 0, 0, 0, time.UTC).Unix()
	default:
		s = time.Date(u.Year(), 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	}
	return s * 1000
}
