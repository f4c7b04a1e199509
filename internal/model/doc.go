// Package model is Skyport's one configuration model: Kong's entities
// (services, routes, consumers, plugins, upstreams, targets, certificates,
// SNIs, CA certificates and credentials) with Kong's field names, types and
// defaults, and the validation both planes share.
//
// The Admin API validates with it, the declarative format normalizes into it,
// snapshots carry it, and the data plane compiles from it. There is no second
// copy of any entity's shape anywhere in the project.
//
// An entity is created with New (Kong's defaults filled in), filled from
// JSON, and checked with Validate, which returns an *Error carrying a Kong
// error code and per-field messages.
package model
