package tests

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// selfSigned returns a PEM certificate and key for name with serial.
func selfSigned(t *testing.T, name string, serial int64) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

// servedSerial is the serial of the certificate the data plane presents
// for sni.
func servedSerial(tlsAddr, sni string) (int64, error) {
	conn, err := tls.Dial("tcp", tlsAddr, &tls.Config{ServerName: sni, InsecureSkipVerify: true}) //nolint:gosec // the test inspects the certificate itself
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64(), nil
}

// TestCertificateThroughTheAdminAPI: a certificate created through the
// Admin API is served for its SNI within a second; replacing it rotates
// without a failed request; deleting it falls back to the default
// certificate.
func TestCertificateThroughTheAdminAPI(t *testing.T) {
	dir := t.TempDir()
	cp := startLocalCP(t, filepath.Join(dir, "cp"), nil)
	up := upstream(t, "a")
	mustRequest(t, http.StatusCreated, http.MethodPost, "http://"+cp.admin+"/config", kongYAML(up.URL, up.URL))
	dp := startDP(t, "dp-tls", "ws://"+cp.cluster, "", filepath.Join(cp.dataDir, "publisher.pub"), filepath.Join(dir, "dp"), nil)
	ready(t, dp.status, time.Minute)
	before, err := servedSerial(dp.tls, "secure.test")
	if err != nil {
		t.Fatalf("TLS listener: %v", err)
	}

	cert, key := selfSigned(t, "secure.test", 1001)
	start := time.Now()
	body := mustRequest(t, http.StatusCreated, http.MethodPost, "http://"+cp.admin+"/certificates",
		map[string]any{"cert": cert, "key": key, "snis": []string{"secure.test"}})
	var created struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "certificate served within a second of the write", func() error {
		s, err := servedSerial(dp.tls, "secure.test")
		if err != nil || s != 1001 {
			return fmt.Errorf("serial %d, %w", s, err)
		}
		return nil
	})
	t.Logf("certificate served %s after the write", time.Since(start).Round(time.Millisecond))

	// Rotate under a loop of fresh TLS connections: none may fail.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{ServerName: "secure.test", InsecureSkipVerify: true}, //nolint:gosec // self-signed test certificates
	}}
	var ok, failed atomic.Int64
	var lastErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodGet, "https://"+dp.tls+"/", nil)
				req.Host = "alpha.test"
				resp, err := client.Do(req)
				if err == nil && resp.StatusCode == http.StatusOK {
					ok.Add(1)
				} else {
					failed.Add(1)
					lastErr.Store(fmt.Sprint(err))
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
		}()
	}
	cert2, key2 := selfSigned(t, "secure.test", 1002)
	mustRequest(t, http.StatusOK, http.MethodPatch, "http://"+cp.admin+"/certificates/"+created.ID,
		map[string]any{"cert": cert2, "key": key2})
	eventually(t, time.Minute, "rotated certificate served", func() error {
		s, err := servedSerial(dp.tls, "secure.test")
		if err != nil || s != 1002 {
			return fmt.Errorf("serial %d, %w", s, err)
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failed.Load() > 0 || ok.Load() == 0 {
		t.Fatalf("during rotation: %d ok, %d failed (last: %v)", ok.Load(), failed.Load(), lastErr.Load())
	}

	// Deleted: the default certificate again.
	mustRequest(t, http.StatusNoContent, http.MethodDelete, "http://"+cp.admin+"/certificates/"+created.ID, nil)
	eventually(t, time.Minute, "default certificate after delete", func() error {
		s, err := servedSerial(dp.tls, "secure.test")
		if err != nil || s != before {
			return fmt.Errorf("serial %d (default %d), %w", s, before, err)
		}
		return nil
	})
}
