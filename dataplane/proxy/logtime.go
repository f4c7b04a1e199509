package proxy

import (
	"sync/atomic"
	"time"
)

// lineTime formats access log times as time.RFC3339Nano does, keeping
// the part that changes once a second (date, clock and zone) formatted:
// a line then appends that part and its fraction of a second.
type lineTime struct {
	cur atomic.Pointer[secondText]
}

// secondText is one second's formatting: "2006-01-02T15:04:05" and the
// zone ("Z" or "-07:00"), for times in loc.
type secondText struct {
	unix  int64
	loc   *time.Location
	clock []byte
	zone  []byte
}

// appendTime appends t as t.AppendFormat(b, time.RFC3339Nano) does.
func (lt *lineTime) appendTime(b []byte, t time.Time) []byte {
	sec, loc := t.Unix(), t.Location()
	st := lt.cur.Load()
	if st == nil || st.unix != sec || st.loc != loc {
		st = newSecondText(t)
		lt.cur.Store(st)
	}
	if st.clock == nil {
		return t.AppendFormat(b, time.RFC3339Nano)
	}
	b = append(b, st.clock...)
	if ns := t.Nanosecond(); ns != 0 {
		b = appendFraction(b, ns)
	}
	return append(b, st.zone...)
}

func newSecondText(t time.Time) *secondText {
	st := &secondText{unix: t.Unix(), loc: t.Location()}
	// RFC3339Nano writes a year outside [0,9999] otherwise: such a
	// second is not cached (clock stays nil).
	if y := t.Year(); y < 0 || y > 9999 {
		return st
	}
	full := t.Add(-time.Duration(t.Nanosecond())).AppendFormat(nil, time.RFC3339Nano)
	const clockLen = len("2006-01-02T15:04:05")
	st.clock, st.zone = full[:clockLen], full[clockLen:]
	return st
}

// appendFraction appends ".nnnnnnnnn" without its trailing zeros, as
// RFC3339Nano's ".999999999" does; ns is in (0, 1e9).
func appendFraction(b []byte, ns int) []byte {
	var d [10]byte
	d[0] = '.'
	for i := 9; i >= 1; i-- {
		d[i] = byte('0' + ns%10)
		ns /= 10
	}
	n := 10
	for d[n-1] == '0' {
		n--
	}
	return append(b, d[:n]...)
}
