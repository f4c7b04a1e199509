package history

// SetDeltaPage sets how many keys one listing of the deltas asks for.
func (l *Log) SetDeltaPage(n int) { l.deltaPage = n }
