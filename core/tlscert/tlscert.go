// Package tlscert reads and checks the TLS certificates apps upload for
// their custom domains (Heroku's SNI endpoints): a PEM certificate chain and
// its private key.
//
// [Parse] checks that the chain parses, that the key matches the leaf
// certificate and that the leaf is valid now, and returns the facts the
// Platform API shows (names, issuer, expiry). [Generate] makes self-signed
// pairs, for tests and demos.
package tlscert

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/paasd/paasd/core"
)

// MaxPEMBytes bounds a certificate chain or key accepted by Parse.
const MaxPEMBytes = 64 << 10

// Cert is a parsed, checked certificate chain and key.
type Cert struct {
	// Names are the leaf's DNS names (subjectAltName), lower-case, in the
	// certificate's order; the subject's common name when it has none.
	// Wildcards keep their "*." prefix.
	Names []string
	// Subject and Issuer are the leaf's distinguished names ("/CN=...").
	Subject, Issuer string
	// NotBefore and NotAfter bound the leaf's validity.
	NotBefore, NotAfter time.Time
	// SelfSigned: the leaf is its own issuer.
	SelfSigned bool
	// ChainPEM is the normalized chain (CERTIFICATE blocks only, leaf
	// first); KeyPEM is the key as given.
	ChainPEM, KeyPEM string
	// TLS is the pair ready for a tls.Config, with Leaf set.
	TLS tls.Certificate
}

// Parse reads a PEM certificate chain (leaf first) and its PEM private key.
// It returns an error wrapping core.ErrInvalid naming what is wrong: no
// certificate, a block that does not parse, a key that does not match the
// leaf, or a leaf that has expired or is not valid yet at now.
func Parse(chainPEM, keyPEM []byte, now time.Time) (*Cert, error) {
	if len(chainPEM) > MaxPEMBytes || len(keyPEM) > MaxPEMBytes {
		return nil, fmt.Errorf("certificate chain or key is larger than %d bytes: %w", MaxPEMBytes, core.ErrInvalid)
	}
	var certs []*x509.Certificate
	var norm bytes.Buffer
	rest := chainPEM
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			if strings.Contains(b.Type, "PRIVATE KEY") {
				return nil, fmt.Errorf("certificate chain contains a private key (%s); pass the key separately: %w", b.Type, core.ErrInvalid)
			}
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d of the chain does not parse: %w: %w", len(certs)+1, err, core.ErrInvalid)
		}
		certs = append(certs, c)
		_ = pem.Encode(&norm, &pem.Block{Type: "CERTIFICATE", Bytes: b.Bytes})
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("certificate chain has no PEM CERTIFICATE block: %w", core.ErrInvalid)
	}
	if kb, _ := pem.Decode(keyPEM); kb == nil || !strings.Contains(kb.Type, "PRIVATE KEY") {
		return nil, fmt.Errorf("private key has no PEM PRIVATE KEY block: %w", core.ErrInvalid)
	}
	pair, err := tls.X509KeyPair(norm.Bytes(), keyPEM)
	if err != nil {
		if strings.Contains(err.Error(), "does not match") {
			return nil, fmt.Errorf("private key does not match the certificate: %w", core.ErrInvalid)
		}
		return nil, fmt.Errorf("private key: %w: %w", err, core.ErrInvalid)
	}
	leaf := certs[0]
	pair.Leaf = leaf
	if now.Before(leaf.NotBefore) {
		return nil, fmt.Errorf("certificate is not valid before %s: %w", leaf.NotBefore.UTC().Format(time.RFC3339), core.ErrInvalid)
	}
	if now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("certificate expired at %s: %w", leaf.NotAfter.UTC().Format(time.RFC3339), core.ErrInvalid)
	}
	var names []string
	for _, n := range leaf.DNSNames {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 && leaf.Subject.CommonName != "" {
		names = []string{strings.ToLower(leaf.Subject.CommonName)}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("certificate names no domain (no DNS subjectAltName nor common name): %w", core.ErrInvalid)
	}
	return &Cert{
		Names: names, Subject: dn(leaf.Subject), Issuer: dn(leaf.Issuer),
		NotBefore: leaf.NotBefore.UTC(), NotAfter: leaf.NotAfter.UTC(),
		SelfSigned: bytes.Equal(leaf.RawIssuer, leaf.RawSubject) && leaf.CheckSignatureFrom(leaf) == nil,
		ChainPEM:   norm.String(), KeyPEM: string(keyPEM), TLS: pair,
	}, nil
}

// dn renders a name the way Heroku's ssl_cert does: "/C=US/O=Org/CN=name".
func dn(n pkix.Name) string {
	var b strings.Builder
	add := func(k string, vs ...string) {
		for _, v := range vs {
			b.WriteString("/" + k + "=" + v)
		}
	}
	add("C", n.Country...)
	add("ST", n.Province...)
	add("L", n.Locality...)
	add("O", n.Organization...)
	add("OU", n.OrganizationalUnit...)
	if n.CommonName != "" {
		add("CN", n.CommonName)
	}
	return b.String()
}

// Matches reports whether the certificate covers host: an exact name, or a
// "*.parent" wildcard covering exactly one label (RFC 6125).
func (c *Cert) Matches(host string) bool {
	return MatchesAny(c.Names, host)
}

// MatchesAny reports whether one of names covers host (see Cert.Matches).
// A wildcard host ("*.example.com") is covered only by that same wildcard.
func MatchesAny(names []string, host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, n := range names {
		if n == host {
			return true
		}
		if rest, ok := strings.CutPrefix(n, "*."); ok && !strings.HasPrefix(host, "*.") {
			if i := strings.IndexByte(host, '.'); i > 0 && host[i+1:] == rest {
				return true
			}
		}
	}
	return false
}

// Generate makes a self-signed ECDSA P-256 certificate for names (the first
// is the common name) valid from now-1h to now+validFor, and returns its
// PEM certificate and key.
func Generate(names []string, now time.Time, validFor time.Duration) (certPEM, keyPEM []byte, err error) {
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("generate certificate: no names: %w", core.ErrInvalid)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, fmt.Errorf("generate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0], Organization: []string{"paasd"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validFor),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              names,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("generate certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}
