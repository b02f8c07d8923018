package store

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/paasd/paasd/core"
)

func TestSNIEndpoints(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "u@example.com")
	a := mustApp(t, s, "app", u.ID)
	e, err := s.CreateSNIEndpoint(ctx, core.SNIEndpoint{AppID: a.ID, Name: "tokyo-1", CertificateChain: "C", PrivateKey: "K"})
	if err != nil || e.ID == "" || e.CreatedAt.IsZero() {
		t.Fatalf("create: %+v, %v", e, err)
	}
	if _, err := s.CreateSNIEndpoint(ctx, core.SNIEndpoint{AppID: a.ID, Name: "tokyo-1", CertificateChain: "C", PrivateKey: "K"}); !errors.Is(err, core.ErrConflict) {
		t.Fatalf("duplicate name: %v, want ErrConflict", err)
	}
	if _, err := s.CreateSNIEndpoint(ctx, core.SNIEndpoint{AppID: a.ID, Name: "x"}); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("no certificate: %v, want ErrInvalid", err)
	}
	if got, err := s.GetSNIEndpoint(ctx, a.ID, "tokyo-1"); err != nil || got.ID != e.ID {
		t.Fatalf("get by name: %+v, %v", got, err)
	}
	up, err := s.UpdateSNIEndpoint(ctx, a.ID, e.ID, func(x *core.SNIEndpoint) error { x.CertificateChain, x.Name = "C2", "renamed"; return nil })
	if err != nil || up.CertificateChain != "C2" || up.Name != "tokyo-1" {
		t.Fatalf("update: %+v, %v (name must not change)", up, err)
	}
	d, err := s.CreateDomain(ctx, core.Domain{AppID: a.ID, Hostname: "www.example.com", SNIEndpointID: "tokyo-1"})
	if err != nil || d.SNIEndpointID != e.ID {
		t.Fatalf("domain with endpoint by name: %+v, %v", d, err)
	}
	if _, err := s.CreateDomain(ctx, core.Domain{AppID: a.ID, Hostname: "b.example.com", SNIEndpointID: "nope"}); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("domain with unknown endpoint: %v, want ErrNotFound", err)
	}
	if _, err := s.UpdateDomain(ctx, a.ID, "www.example.com", func(d *core.Domain) error { d.SNIEndpointID = "nope"; return nil }); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("update domain to an unknown endpoint: %v, want ErrNotFound", err)
	}
	if _, err := s.DeleteSNIEndpoint(ctx, a.ID, "tokyo-1"); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.GetDomain(ctx, a.ID, "www.example.com"); d.SNIEndpointID != "" {
		t.Fatalf("deleting the endpoint left the domain pointing at it: %+v", d)
	}
	if list, err := s.ListSNIEndpoints(ctx, a.ID); err != nil || len(list) != 0 {
		t.Fatalf("list after delete: %v, %v", list, err)
	}
	if _, err := s.GetSNIEndpoint(ctx, a.ID, "tokyo-1"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("get deleted: %v, want ErrNotFound", err)
	}
}

// A schema-1 file (apps without an SNI endpoint bucket) migrates so that
// its apps can store endpoints.
func TestMigrateSchema1AddsSNIEndpoints(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	u := mustUser(t, s, "u@example.com")
	a := mustApp(t, s, "app", u.ID)
	// Make it look like schema 1.
	if err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bApp).Bucket([]byte(a.ID)).DeleteBucket(sSNIEndpoints); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put(kSchemaVersion, []byte(strconv.Itoa(1)))
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(); v != 2 {
		t.Fatalf("schema version = %d, want 2", v)
	}
	if _, err := s.CreateSNIEndpoint(ctx, core.SNIEndpoint{AppID: a.ID, Name: "e", CertificateChain: "C", PrivateKey: "K"}); err != nil {
		t.Fatalf("migrated app cannot store an endpoint: %v", err)
	}
}
