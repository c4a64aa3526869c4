package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/isweep/isweep/internal/proctest"
)

// testPKI is a certificate authority with a server and a client
// certificate, written as PEM files.
type testPKI struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
	otherCAFile                                          string // a CA that signed nothing here
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	writePEM := func(name, kind string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	newCA := func(name string) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
		key := newKey()
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: name},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(24 * time.Hour),
			IsCA:                  true,
			KeyUsage:              x509.KeyUsageCertSign,
			BasicConstraintsValid: true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return cert, key, der
	}
	ca, caKey, caDER := newCA("isweep test CA")
	_, _, otherDER := newCA("another CA")
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, dns []string) ([]byte, *ecdsa.PrivateKey) {
		key := newKey()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			DNSNames:     dns,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	serverDER, serverKey := leaf(2, "temporal.test", x509.ExtKeyUsageServerAuth, []string{"temporal.test"})
	clientDER, clientKey := leaf(3, "isweep-worker", x509.ExtKeyUsageClientAuth, nil)
	return testPKI{
		caFile:      writePEM("ca.pem", "CERTIFICATE", caDER),
		otherCAFile: writePEM("other-ca.pem", "CERTIFICATE", otherDER),
		serverCert:  writePEM("server.pem", "CERTIFICATE", serverDER),
		serverKey:   writePEM("server.key", "PRIVATE KEY", keyDER(serverKey)),
		clientCert:  writePEM("client.pem", "CERTIFICATE", clientDER),
		clientKey:   writePEM("client.key", "PRIVATE KEY", keyDER(clientKey)),
	}
}

// tlsFrontend terminates TLS in front of a plain Temporal frontend, the
// way a load balancer or Temporal Cloud does, requiring a client
// certificate signed by the test CA. It records the client certificates'
// names and the handshakes it refused.
type tlsFrontend struct {
	addr string

	mu       sync.Mutex
	clients  []string
	refusals []string
}

func startTLSFrontend(t *testing.T, pki testPKI, backend string) *tlsFrontend {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(pki.serverCert, pki.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(pki.caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		NextProtos:   []string{"h2"}, // gRPC
		MinVersion:   tls.VersionTLS12,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &tlsFrontend{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.serve(conn.(*tls.Conn), backend)
			}()
		}
	}()
	return f
}

func (f *tlsFrontend) serve(conn *tls.Conn, backend string) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := conn.Handshake(); err != nil {
		f.mu.Lock()
		f.refusals = append(f.refusals, err.Error())
		f.mu.Unlock()
		return
	}
	conn.SetDeadline(time.Time{})
	f.mu.Lock()
	f.clients = append(f.clients, conn.ConnectionState().PeerCertificates[0].Subject.CommonName)
	f.mu.Unlock()
	up, err := net.Dial("tcp", backend)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, conn); done <- struct{}{} }()
	go func() { io.Copy(conn, up); done <- struct{}{} }()
	<-done
}

func (f *tlsFrontend) seen() (clients, refusals []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.clients...), append([]string(nil), f.refusals...)
}

// TestWorkerOverMutualTLS runs workers that reach Temporal only through a
// TLS frontend requiring client certificates: configured by flags and by
// Temporal's environment variables, they become ready and compute a sweep;
// without a client certificate, or trusting the wrong CA, they are refused.
func TestWorkerOverMutualTLS(t *testing.T) {
	pki := newTestPKI(t)
	dir := t.TempDir()
	port := proctest.FreePort(t)
	plain := fmt.Sprintf("127.0.0.1:%d", port)
	startServerProc(t, filepath.Join(dir, "temporal.db"), port)
	front := startTLSFrontend(t, pki, plain)

	t.Run("flags", func(t *testing.T) {
		w := startWorkerProc(t, "worker-tls-flags", front.addr, nil,
			"-tls-ca", pki.caFile, "-tls-cert", pki.clientCert, "-tls-key", pki.clientKey, "-tls-server-name", "temporal.test")
		waitReady(t, w)

		// A sweep submitted to the plain frontend is computed by the worker
		// behind TLS, the only one polling.
		c := proctest.Dial(t, plain)
		spec, specPath := writeSpec(t, dir, fmt.Sprintf(`apiVersion: isweep/v1
name: tls-test
output: %s
chunk: 4
grid:
  algorithm: [direct, interneuron]
  init_scale: [1, 2, 4, 8]
fixed: {mode: flow, n: 2}
`, filepath.Join(dir, "results")))
		submit := startProc(t, "submit", nil, "", "submit", "-address", plain, specPath)
		if code := submit.Wait(2 * time.Minute); code != 0 {
			t.Fatalf("isweep submit: got: exit %d, want: 0\n%s", code, submit.Output())
		}
		if res := proctest.WaitResult(t, c, spec.SweepID()); res.Final.Status != "complete" {
			t.Fatalf("got: status %q, want: complete", res.Final.Status)
		}
		proctest.CheckExactlyOnce(t, spec)
		w.Kill()
	})

	t.Run("environment", func(t *testing.T) {
		env := []string{
			"TEMPORAL_TLS=true",
			"TEMPORAL_TLS_SERVER_CA_CERT_PATH=" + pki.caFile,
			"TEMPORAL_TLS_CLIENT_CERT_PATH=" + pki.clientCert,
			"TEMPORAL_TLS_CLIENT_KEY_PATH=" + pki.clientKey,
			"TEMPORAL_TLS_SERVER_NAME=temporal.test",
		}
		w := startWorkerProc(t, "worker-tls-env", front.addr, env)
		waitReady(t, w)
		w.Kill()
	})

	clients, _ := front.seen()
	if len(clients) == 0 || clients[0] != "isweep-worker" {
		t.Fatalf("TLS frontend: got: client certificates %v, want: isweep-worker", clients)
	}

	for _, tt := range []struct {
		name string
		args []string
	}{
		{"no client certificate", []string{"-tls-ca", pki.caFile, "-tls-server-name", "temporal.test"}},
		{"server signed by an untrusted CA", []string{"-tls-ca", pki.otherCAFile, "-tls-cert", pki.clientCert, "-tls-key", pki.clientKey, "-tls-server-name", "temporal.test"}},
		{"wrong server name", []string{"-tls-ca", pki.caFile, "-tls-cert", pki.clientCert, "-tls-key", pki.clientKey, "-tls-server-name", "other.test"}},
	} {
		t.Run("refused: "+tt.name, func(t *testing.T) {
			_, before := front.seen()
			args := append([]string{"worker", "-address", front.addr, "-metrics-addr", "127.0.0.1:0"}, tt.args...)
			p := startProc(t, "worker-refused", nil, "", args...)
			deadline := time.Now().Add(90 * time.Second)
			for {
				if _, after := front.seen(); len(after) > len(before) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("got: no refused handshake at the TLS frontend, want: one\n%s", p.Output())
				}
				time.Sleep(50 * time.Millisecond)
			}
			if strings.Contains(p.Output(), "polling task queue") {
				t.Errorf("got: the worker polls\n%s, want: it refused", p.Output())
			}
		})
	}
}
