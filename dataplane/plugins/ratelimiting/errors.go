package ratelimiting

import "errors"

// ErrNoCluster reports a cluster policy on a data plane started without
// a cluster counter store.
var ErrNoCluster = errors.New("the cluster policy needs a counter table (--counters-table)")
