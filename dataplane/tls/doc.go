// Package tls holds the end-to-end tests of the data plane's TLS: the
// proxy and its certificate manager behind real HTTP and HTTPS listeners,
// as "skyport dp" runs them. The code lives in dataplane/certs (the
// certificate manager, on-demand ACME, upstream TLS) and
// dataplane/certstore (certmagic's storage on S3 or a directory).
package tls
