package certs_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log"

	"github.com/skyport-gw/skyport/dataplane/certs"
	"github.com/skyport-gw/skyport/internal/model"
)

// A Manager serves the default certificate until a snapshot gives the
// name one; the listener takes its TLSConfig.
func ExampleManager() {
	m, err := certs.New(certs.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	if err := m.Update(context.Background(), &model.Config{}); err != nil {
		log.Fatal(err)
	}
	cfg := m.TLSConfig()
	c, err := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: "api.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(leaf.Subject.CommonName, cfg.NextProtos)
	// Output: localhost [h2 http/1.1]
}
