package daemon

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/paasd/paasd/core/tlscert"
)

// TLS certificate files under the data dir, used by the rendezvous service
// and by HTTPS on the API port. The certificate is self-signed on first
// start; the Heroku CLI trusts it with NODE_EXTRA_CA_CERTS=<data dir>/tls.crt
// and git with GIT_SSL_CAINFO (or http.sslCAInfo). An operator may replace
// both files with a certificate of their own.
const (
	TLSCertFile = "tls.crt"
	TLSKeyFile  = "tls.key"
)

// serverTLS is the TLS configuration of the rendezvous service and of the
// API port's HTTPS.
func serverTLS(cfg Config) (*tls.Config, error) {
	cert, err := loadOrCreateCert(cfg.DataDir, cfg.APIAddr, cfg.RendezvousAddr)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// loadOrCreateCert loads the certificate pair from dataDir, creating a
// self-signed one when it is missing, unreadable or expires within a day.
func loadOrCreateCert(dataDir string, addrs ...string) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(dataDir, TLSCertFile), filepath.Join(dataDir, TLSKeyFile)
	if c, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil && c.Leaf != nil && time.Until(c.Leaf.NotAfter) > 24*time.Hour {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "paasd", Organization: []string{"paasd"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if name, err := os.Hostname(); err == nil && name != "" {
		tmpl.DNSNames = append(tmpl.DNSNames, name)
	}
	for _, addr := range addrs {
		host, _, err := net.SplitHostPort(addr)
		if err != nil || host == "" {
			continue
		}
		if ip := net.ParseIP(host); ip != nil {
			if !ip.IsUnspecified() && !ip.IsLoopback() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if host != "localhost" {
			tmpl.DNSNames = append(tmpl.DNSNames, host)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls key: %w", err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return tls.Certificate{}, fmt.Errorf("tls key: %w", err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return tls.Certificate{}, fmt.Errorf("tls certificate: %w", err)
	}
	return tls.LoadX509KeyPair(certPath, keyPath)
}

// Router certificate files under the data dir: the certificate the router
// serves over HTTPS for names no SNI endpoint covers, chiefly the apps'
// default hostnames. Self-signed for "*.<app_domain>" on first start; an
// operator may replace both files with a real wildcard certificate.
const (
	RouterCertFile = "router-tls.crt"
	RouterKeyFile  = "router-tls.key"
)

// routerDefaultCert makes sure the router's default certificate files
// exist and are valid for more than a day, and returns their paths.
func routerDefaultCert(dataDir, appDomain string) (certPath, keyPath string, err error) {
	certPath, keyPath = filepath.Join(dataDir, RouterCertFile), filepath.Join(dataDir, RouterKeyFile)
	if c, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil && c.Leaf != nil && time.Until(c.Leaf.NotAfter) > 24*time.Hour {
		return certPath, keyPath, nil
	}
	crt, key, err := tlscert.Generate([]string{"*." + appDomain, appDomain}, time.Now(), 10*365*24*time.Hour)
	if err != nil {
		return "", "", fmt.Errorf("router certificate: %w", err)
	}
	if err := os.WriteFile(keyPath, key, 0o600); err != nil {
		return "", "", fmt.Errorf("router certificate: %w", err)
	}
	if err := os.WriteFile(certPath, crt, 0o644); err != nil {
		return "", "", fmt.Errorf("router certificate: %w", err)
	}
	return certPath, keyPath, nil
}
