package ratelimiting

import "time"

// period is one of rate-limiting's windows.
type period int

const (
	second period = iota
	minute
	hour
	day
	month
	year
	numPeriods
)

// Kong's window lengths in seconds (a month counts 30 days, a year 365),
// used for Reset and Retry-After.
var expiration = [numPeriods]int64{1, 60, 3600, 86400, 2592000, 31536000}

var periodNames = [numPeriods]string{"second", "minute", "hour", "day", "month", "year"}

// Header names per period, built once.
var (
	headerLimit     [numPeriods]string
	headerRemaining [numPeriods]string
)

func init() {
	for p, n := range periodNames {
		title := string(n[0]-'a'+'A') + n[1:]
		headerLimit[p] = "X-Ratelimit-Limit-" + title
		headerRemaining[p] = "X-Ratelimit-Remaining-" + title
	}
}

// windowStart returns the start of the window of p containing now, in
// Unix seconds, aligned as Kong aligns them: on the second, minute, hour,
// UTC day, first of the UTC month and first of the UTC year.
func windowStart(p period, now time.Time) int64 {
	u := now.UTC()
	switch p {
	case second:
		return u.Unix()
	case minute:
		return u.Unix() - u.Unix()%60
	case hour:
		return u.Unix() - u.Unix()%3600
	case day:
		return u.Unix() - u.Unix()%86400
	case month:
		return time.Date(u.Year(), u.Month(), 1, 0, 0, 0, 0, time.UTC).Unix()
	default:
		return time.Date(u.Year(), 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	}
}

// windowEnd returns when the window of p starting at start ends.
func windowEnd(p period, start int64) int64 {
	switch p {
	case month:
		return time.Unix(start, 0).UTC().AddDate(0, 1, 0).Unix()
	case year:
		return time.Unix(start, 0).UTC().AddDate(1, 0, 0).Unix()
	}
	return start + expiration[p]
}
