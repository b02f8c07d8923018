package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/paasd/paasd/core"
)

// FileName is the name of the store's file under the data directory.
const FileName = "paasd.db"

// SchemaVersion is the schema version this build writes. Opening a file with
// an older version runs the migrations up to it; a newer version is refused.
const SchemaVersion = 2

var _ Store = (*Bolt)(nil)

// Bolt is the embedded Store on one bbolt file. Every commit is fsync'd
// before the method returns.
type Bolt struct {
	db  *bolt.DB
	now func() time.Time
}

// Options tune [Open]. The zero value is the default.
type Options struct {
	// LockTimeout is how long Open waits for another process holding the
	// file to let go; zero means 10 seconds.
	LockTimeout time.Duration
	// Now is the clock; nil means time.Now in UTC.
	Now func() time.Time
}

// Bucket names. Per-app data lives in nested buckets of bApp keyed by app id,
// so deleting an app is deleting one bucket.
var (
	bMeta        = []byte("meta")
	bApps        = []byte("apps")
	bAppNames    = []byte("app_names")
	bApp         = []byte("app")
	bUserApps    = []byte("user_apps")
	bAddons      = []byte("addons")
	bAddonNames  = []byte("addon_names")
	bAttachments = []byte("attachments")
	bHostnames   = []byte("hostnames")
	bUsers       = []byte("users")
	bEmails      = []byte("emails")
	bTokens      = []byte("tokens")
	bTokenIDs    = []byte("token_ids")

	sReleases      = []byte("releases")
	sFormation     = []byte("formation")
	sDynos         = []byte("dynos")
	sBuilds        = []byte("builds")
	sSlugs         = []byte("slugs")
	sDomains       = []byte("domains")
	sDrains        = []byte("drains")
	sCollaborators = []byte("collaborators")
	sSNIEndpoints  = []byte("sni_endpoints")

	kSchemaVersion = []byte("schema_version")
)

var appSubBuckets = [][]byte{sReleases, sFormation, sDynos, sBuilds, sSlugs, sDomains, sDrains, sCollaborators, sSNIEndpoints}

// migrations[i] upgrades a file from schema version i to i+1.
var migrations = []func(tx *bolt.Tx) error{
	// 0 → 1: the initial layout.
	func(tx *bolt.Tx) error {
		for _, n := range [][]byte{bApps, bAppNames, bApp, bUserApps, bAddons, bAddonNames,
			bAttachments, bHostnames, bUsers, bEmails, bTokens, bTokenIDs} {
			if _, err := tx.CreateBucketIfNotExists(n); err != nil {
				return fmt.Errorf("create bucket %s: %w", n, err)
			}
		}
		return nil
	},
	// 1 → 2: every app gets a bucket of SNI endpoints.
	func(tx *bolt.Tx) error {
		apps := tx.Bucket(bApp)
		return apps.ForEachBucket(func(k []byte) error {
			_, err := apps.Bucket(k).CreateBucketIfNotExists(sSNIEndpoints)
			return err
		})
	},
}

// Open opens (creating if needed) the store file at path and migrates it to
// [SchemaVersion]. Only one process may hold the file; Open waits up to
// Options.LockTimeout for it.
func Open(path string, opts Options) (*Bolt, error) {
	timeout := opts.LockTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: another process (a running paasd?) holds it: %w: %w", path, err, core.ErrUnavailable)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	now := opts.Now
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	s := &Bolt{db: db, now: now}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

func (s *Bolt) migrate() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bMeta)
		if err != nil {
			return fmt.Errorf("create meta bucket: %w", err)
		}
		v := 0
		if raw := meta.Get(kSchemaVersion); raw != nil {
			v, err = strconv.Atoi(string(raw))
			if err != nil {
				return fmt.Errorf("schema version %q: %w", raw, core.ErrInvalid)
			}
		}
		if v > SchemaVersion {
			return fmt.Errorf("schema version %d is newer than this paasd's %d: %w", v, SchemaVersion, core.ErrUnsupported)
		}
		for ; v < SchemaVersion; v++ {
			if err := migrations[v](tx); err != nil {
				return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
			}
		}
		return meta.Put(kSchemaVersion, []byte(strconv.Itoa(v)))
	})
}

// SchemaVersion returns the schema version recorded in the file.
func (s *Bolt) SchemaVersion() (int, error) {
	var v int
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		v, err = strconv.Atoi(string(tx.Bucket(bMeta).Get(kSchemaVersion)))
		return err
	})
	return v, err
}

// Close closes the file.
func (s *Bolt) Close() error { return s.db.Close() }

// Stats implements [Store].
func (s *Bolt) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	err := s.db.View(func(tx *bolt.Tx) error {
		st.Apps = tx.Bucket(bApps).Stats().KeyN
		st.Users = tx.Bucket(bUsers).Stats().KeyN
		return tx.Bucket(bApp).ForEachBucket(func(k []byte) error {
			ab := tx.Bucket(bApp).Bucket(k)
			st.Releases += ab.Bucket(sReleases).Stats().KeyN
			st.Dynos += ab.Bucket(sDynos).Stats().KeyN
			return nil
		})
	})
	return st, err
}

// ---- helpers ----

func (s *Bolt) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(fn)
}

func (s *Bolt) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}

func getJSON[T any](b *bolt.Bucket, key []byte) (T, bool, error) {
	var v T
	raw := b.Get(key)
	if raw == nil {
		return v, false, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, false, fmt.Errorf("decode %s: %w", key, err)
	}
	return v, true, nil
}

// mustGetJSON decodes the record under key in b; a missing one is
// core.ErrNotFound naming what it is (e.g. "build").
func mustGetJSON[T any](b *bolt.Bucket, what, key string) (T, error) {
	v, ok, err := getJSON[T](b, []byte(key))
	if err == nil && !ok {
		err = fmt.Errorf("%s %q: %w", what, key, core.ErrNotFound)
	}
	return v, err
}

// viewApp runs read on app appID's sub-bucket sub in a read-only
// transaction and returns its answer; an unknown app is core.ErrNotFound.
func viewApp[T any](ctx context.Context, s *Bolt, appID string, sub []byte, read func(*bolt.Bucket) (T, error)) (T, error) {
	var v T
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b, err := appSub(tx, appID, sub)
		if err != nil {
			return err
		}
		v, err = read(b)
		return err
	})
	return v, err
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	return b.Put(key, raw)
}

func listJSON[T any](b *bolt.Bucket) ([]T, error) {
	out := []T{}
	err := b.ForEach(func(k, raw []byte) error {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("decode %s: %w", k, err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// findJSON returns the first value in b for which match is true.
func findJSON[T any](b *bolt.Bucket, match func(T) bool) (T, []byte, bool, error) {
	var zero T
	c := b.Cursor()
	for k, raw := c.First(); k != nil; k, raw = c.Next() {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return zero, nil, false, fmt.Errorf("decode %s: %w", k, err)
		}
		if match(v) {
			return v, slices.Clone(k), true, nil
		}
	}
	return zero, nil, false, nil
}

func newID() string { return uuid.NewString() }

// appSub returns the nested bucket sub of app appID, or ErrNotFound.
func appSub(tx *bolt.Tx, appID string, sub []byte) (*bolt.Bucket, error) {
	ab := tx.Bucket(bApp).Bucket([]byte(appID))
	if ab == nil {
		return nil, fmt.Errorf("app %q: %w", appID, core.ErrNotFound)
	}
	return ab.Bucket(sub), nil
}

func userAppKey(userID, appID string) []byte { return []byte(userID + "\x00" + appID) }

// ---- apps ----

func lookupApp(tx *bolt.Tx, idOrName string) (core.App, error) {
	apps := tx.Bucket(bApps)
	if id := tx.Bucket(bAppNames).Get([]byte(idOrName)); id != nil {
		idOrName = string(id)
	}
	a, ok, err := getJSON[core.App](apps, []byte(idOrName))
	if err != nil {
		return a, err
	}
	if !ok {
		return a, fmt.Errorf("app %q: %w", idOrName, core.ErrNotFound)
	}
	return a, nil
}

// CreateApp implements [Apps].
func (s *Bolt) CreateApp(ctx context.Context, app core.App, first core.Release) (core.App, core.Release, error) {
	if app.Name == "" {
		return app, first, fmt.Errorf("app name is empty: %w", core.ErrInvalid)
	}
	if app.OwnerID == "" {
		return app, first, fmt.Errorf("app owner is empty: %w", core.ErrInvalid)
	}
	now := s.now()
	if app.ID == "" {
		app.ID = newID()
	}
	if app.CreatedAt.IsZero() {
		app.CreatedAt = now
	}
	app.UpdatedAt = now
	app.ReleasedAt = now
	err := s.update(ctx, func(tx *bolt.Tx) error {
		names := tx.Bucket(bAppNames)
		if names.Get([]byte(app.Name)) != nil {
			return fmt.Errorf("app name %q is already taken: %w", app.Name, core.ErrConflict)
		}
		if tx.Bucket(bApps).Get([]byte(app.ID)) != nil {
			return fmt.Errorf("app id %q: %w", app.ID, core.ErrConflict)
		}
		if err := names.Put([]byte(app.Name), []byte(app.ID)); err != nil {
			return err
		}
		if err := putJSON(tx.Bucket(bApps), []byte(app.ID), app); err != nil {
			return err
		}
		if err := tx.Bucket(bUserApps).Put(userAppKey(app.OwnerID, app.ID), []byte("owner")); err != nil {
			return err
		}
		ab, err := tx.Bucket(bApp).CreateBucket([]byte(app.ID))
		if err != nil {
			return fmt.Errorf("create app bucket: %w", err)
		}
		for _, sub := range appSubBuckets {
			if _, err := ab.CreateBucket(sub); err != nil {
				return fmt.Errorf("create app bucket %s: %w", sub, err)
			}
		}
		first, err = s.appendRelease(tx, app.ID, first)
		return err
	})
	if err != nil {
		return core.App{}, core.Release{}, err
	}
	return app, first, nil
}

// GetApp implements [Apps].
func (s *Bolt) GetApp(ctx context.Context, idOrName string) (core.App, error) {
	var a core.App
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		a, err = lookupApp(tx, idOrName)
		return err
	})
	return a, err
}

// ListApps implements [Apps].
func (s *Bolt) ListApps(ctx context.Context, userID string) ([]core.App, error) {
	out := []core.App{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if userID == "" {
			var err error
			out, err = listJSON[core.App](tx.Bucket(bApps))
			return err
		}
		prefix := []byte(userID + "\x00")
		c := tx.Bucket(bUserApps).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			a, err := lookupApp(tx, string(k[len(prefix):]))
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b core.App) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

// UpdateApp implements [Apps].
func (s *Bolt) UpdateApp(ctx context.Context, idOrName string, fn func(*core.App) error) (core.App, error) {
	var a core.App
	err := s.update(ctx, func(tx *bolt.Tx) error {
		old, err := lookupApp(tx, idOrName)
		if err != nil {
			return err
		}
		a = old
		if err := fn(&a); err != nil {
			return err
		}
		a.ID = old.ID
		a.CreatedAt = old.CreatedAt
		a.UpdatedAt = s.now()
		if a.Name == "" {
			return fmt.Errorf("app name is empty: %w", core.ErrInvalid)
		}
		names := tx.Bucket(bAppNames)
		if a.Name != old.Name {
			if names.Get([]byte(a.Name)) != nil {
				return fmt.Errorf("app name %q is already taken: %w", a.Name, core.ErrConflict)
			}
			if err := names.Delete([]byte(old.Name)); err != nil {
				return err
			}
			if err := names.Put([]byte(a.Name), []byte(a.ID)); err != nil {
				return err
			}
		}
		if a.OwnerID != old.OwnerID {
			if a.OwnerID == "" {
				return fmt.Errorf("app owner is empty: %w", core.ErrInvalid)
			}
			ua := tx.Bucket(bUserApps)
			if err := ua.Delete(userAppKey(old.OwnerID, a.ID)); err != nil {
				return err
			}
			// A collaborator who becomes owner stops being a collaborator.
			if err := tx.Bucket(bApp).Bucket([]byte(a.ID)).Bucket(sCollaborators).Delete([]byte(a.OwnerID)); err != nil {
				return err
			}
			if err := ua.Put(userAppKey(a.OwnerID, a.ID), []byte("owner")); err != nil {
				return err
			}
		}
		return putJSON(tx.Bucket(bApps), []byte(a.ID), a)
	})
	if err != nil {
		return core.App{}, err
	}
	return a, nil
}

// DeleteApp implements [Apps].
func (s *Bolt) DeleteApp(ctx context.Context, idOrName string) (core.App, error) {
	var a core.App
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		a, err = lookupApp(tx, idOrName)
		if err != nil {
			return err
		}
		id := []byte(a.ID)
		ab := tx.Bucket(bApp).Bucket(id)
		// Global indexes that point into the app.
		ua := tx.Bucket(bUserApps)
		if err := ua.Delete(userAppKey(a.OwnerID, a.ID)); err != nil {
			return err
		}
		collabs, err := listJSON[core.Collaborator](ab.Bucket(sCollaborators))
		if err != nil {
			return err
		}
		for _, c := range collabs {
			if err := ua.Delete(userAppKey(c.UserID, a.ID)); err != nil {
				return err
			}
		}
		domains, err := listJSON[core.Domain](ab.Bucket(sDomains))
		if err != nil {
			return err
		}
		for _, d := range domains {
			if err := tx.Bucket(bHostnames).Delete([]byte(d.Hostname)); err != nil {
				return err
			}
		}
		addons, err := listJSON[core.Addon](tx.Bucket(bAddons))
		if err != nil {
			return err
		}
		for _, ad := range addons {
			if ad.AppID == a.ID {
				if err := deleteAddon(tx, ad); err != nil {
					return err
				}
			}
		}
		ats, err := listJSON[core.AddonAttachment](tx.Bucket(bAttachments))
		if err != nil {
			return err
		}
		for _, at := range ats {
			if at.AppID == a.ID {
				if err := tx.Bucket(bAttachments).Delete([]byte(at.ID)); err != nil {
					return err
				}
			}
		}
		if err := tx.Bucket(bApp).DeleteBucket(id); err != nil {
			return err
		}
		if err := tx.Bucket(bAppNames).Delete([]byte(a.Name)); err != nil {
			return err
		}
		return tx.Bucket(bApps).Delete(id)
	})
	if err != nil {
		return core.App{}, err
	}
	return a, nil
}

// ---- releases ----

func versionKey(v int) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, uint64(v))
	return k
}

// appendRelease allocates the next version inside tx.
func (s *Bolt) appendRelease(tx *bolt.Tx, appID string, r core.Release) (core.Release, error) {
	rb, err := appSub(tx, appID, sReleases)
	if err != nil {
		return r, err
	}
	last := 0
	if k, _ := rb.Cursor().Last(); k != nil {
		last = int(binary.BigEndian.Uint64(k))
	}
	now := s.now()
	r.AppID = appID
	r.Version = last + 1
	if r.ID == "" {
		r.ID = newID()
	}
	if r.Status == "" {
		r.Status = core.ReleaseSucceeded
	}
	if r.Config == nil {
		r.Config = map[string]string{}
	}
	r.CreatedAt, r.UpdatedAt = now, now
	r.Current = r.Status != core.ReleaseFailed
	if err := putJSON(rb, versionKey(r.Version), r); err != nil {
		return r, err
	}
	// Stamp the app's released_at.
	a, err := lookupApp(tx, appID)
	if err != nil {
		return r, err
	}
	a.ReleasedAt = now
	return r, putJSON(tx.Bucket(bApps), []byte(a.ID), a)
}

func currentRelease(rb *bolt.Bucket) (core.Release, bool, error) {
	c := rb.Cursor()
	for k, raw := c.Last(); k != nil; k, raw = c.Prev() {
		var r core.Release
		if err := json.Unmarshal(raw, &r); err != nil {
			return r, false, fmt.Errorf("decode release: %w", err)
		}
		// A pending release (its release phase still running) is not
		// current yet, and a failed one never is.
		if r.Status != core.ReleaseFailed && r.Status != core.ReleasePending {
			r.Current = true
			return r, true, nil
		}
	}
	return core.Release{}, false, nil
}

// AppendRelease implements [Releases].
func (s *Bolt) AppendRelease(ctx context.Context, appID string, r core.Release) (core.Release, error) {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		r, err = s.appendRelease(tx, appID, r)
		return err
	})
	if err != nil {
		return core.Release{}, err
	}
	return r, nil
}

// UpdateConfig implements [Releases].
func (s *Bolt) UpdateConfig(ctx context.Context, appID string, changes map[string]*string, r core.Release) (core.Release, error) {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		rb, err := appSub(tx, appID, sReleases)
		if err != nil {
			return err
		}
		cur, _, err := currentRelease(rb)
		if err != nil {
			return err
		}
		cfg := maps.Clone(cur.Config)
		if cfg == nil {
			cfg = map[string]string{}
		}
		for k, v := range changes {
			if v == nil {
				delete(cfg, k)
			} else {
				cfg[k] = *v
			}
		}
		r.Config = cfg
		if r.SlugID == "" {
			r.SlugID = cur.SlugID
		}
		if r.Addons == nil {
			r.Addons = cur.Addons
		}
		r.ID = ""
		r, err = s.appendRelease(tx, appID, r)
		return err
	})
	if err != nil {
		return core.Release{}, err
	}
	return r, nil
}

func findRelease(rb *bolt.Bucket, idOrVersion string) (core.Release, []byte, error) {
	if v, err := strconv.Atoi(strings.TrimPrefix(idOrVersion, "v")); err == nil && v > 0 {
		k := versionKey(v)
		r, ok, err := getJSON[core.Release](rb, k)
		if err != nil {
			return r, nil, err
		}
		if ok {
			return r, k, nil
		}
		return r, nil, fmt.Errorf("release %q: %w", idOrVersion, core.ErrNotFound)
	}
	r, k, ok, err := findJSON(rb, func(r core.Release) bool { return r.ID == idOrVersion })
	if err != nil {
		return r, nil, err
	}
	if !ok {
		return r, nil, fmt.Errorf("release %q: %w", idOrVersion, core.ErrNotFound)
	}
	return r, k, nil
}

// GetRelease implements [Releases].
func (s *Bolt) GetRelease(ctx context.Context, appID, idOrVersion string) (core.Release, error) {
	var r core.Release
	err := s.view(ctx, func(tx *bolt.Tx) error {
		rb, err := appSub(tx, appID, sReleases)
		if err != nil {
			return err
		}
		r, _, err = findRelease(rb, idOrVersion)
		if err != nil {
			return err
		}
		cur, _, err := currentRelease(rb)
		r.Current = cur.ID == r.ID
		return err
	})
	return r, err
}

// ListReleases implements [Releases].
func (s *Bolt) ListReleases(ctx context.Context, appID string) ([]core.Release, error) {
	var out []core.Release
	err := s.view(ctx, func(tx *bolt.Tx) error {
		rb, err := appSub(tx, appID, sReleases)
		if err != nil {
			return err
		}
		out, err = listJSON[core.Release](rb)
		if err != nil {
			return err
		}
		cur, _, err := currentRelease(rb)
		for i := range out {
			out[i].Current = out[i].ID == cur.ID
		}
		return err
	})
	return out, err
}

// CurrentRelease implements [Releases].
func (s *Bolt) CurrentRelease(ctx context.Context, appID string) (core.Release, error) {
	var r core.Release
	err := s.view(ctx, func(tx *bolt.Tx) error {
		rb, err := appSub(tx, appID, sReleases)
		if err != nil {
			return err
		}
		var ok bool
		r, ok, err = currentRelease(rb)
		if err == nil && !ok {
			err = fmt.Errorf("current release of app %q: %w", appID, core.ErrNotFound)
		}
		return err
	})
	return r, err
}

// UpdateRelease implements [Releases].
func (s *Bolt) UpdateRelease(ctx context.Context, appID, id string, fn func(*core.Release) error) (core.Release, error) {
	var r core.Release
	err := s.update(ctx, func(tx *bolt.Tx) error {
		rb, err := appSub(tx, appID, sReleases)
		if err != nil {
			return err
		}
		old, k, err := findRelease(rb, id)
		if err != nil {
			return err
		}
		r = old
		if err := fn(&r); err != nil {
			return err
		}
		r.ID, r.AppID, r.Version, r.CreatedAt = old.ID, old.AppID, old.Version, old.CreatedAt
		r.UpdatedAt = s.now()
		if err := putJSON(rb, k, r); err != nil {
			return err
		}
		cur, _, err := currentRelease(rb)
		r.Current = cur.ID == r.ID
		return err
	})
	return r, err
}

// ---- formation ----

// ListFormation implements [Formations].
func (s *Bolt) ListFormation(ctx context.Context, appID string) ([]core.Formation, error) {
	return viewApp(ctx, s, appID, sFormation, listJSON[core.Formation])
}

func findFormation(b *bolt.Bucket, typeOrID string) (core.Formation, error) {
	f, ok, err := getJSON[core.Formation](b, []byte(typeOrID))
	if err == nil && !ok {
		f, _, ok, err = findJSON(b, func(f core.Formation) bool { return f.ID == typeOrID })
	}
	if err == nil && !ok {
		err = fmt.Errorf("process type %q: %w", typeOrID, core.ErrNotFound)
	}
	return f, err
}

// GetFormation implements [Formations].
func (s *Bolt) GetFormation(ctx context.Context, appID, typeOrID string) (core.Formation, error) {
	return viewApp(ctx, s, appID, sFormation, func(b *bolt.Bucket) (core.Formation, error) { return findFormation(b, typeOrID) })
}

// PutFormation implements [Formations].
func (s *Bolt) PutFormation(ctx context.Context, appID string, f core.Formation) (core.Formation, error) {
	if f.Type == "" {
		return f, fmt.Errorf("formation type is empty: %w", core.ErrInvalid)
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := appSub(tx, appID, sFormation)
		if err != nil {
			return err
		}
		old, ok, err := getJSON[core.Formation](b, []byte(f.Type))
		if err != nil {
			return err
		}
		if ok {
			f.ID = old.ID
		} else if f.ID == "" {
			f.ID = newID()
		}
		f.AppID = appID
		f.UpdatedAt = s.now()
		return putJSON(b, []byte(f.Type), f)
	})
	return f, err
}

// UpdateFormation implements [Formations].
func (s *Bolt) UpdateFormation(ctx context.Context, appID string, updates []FormationUpdate) ([]core.Formation, error) {
	var out []core.Formation
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := appSub(tx, appID, sFormation)
		if err != nil {
			return err
		}
		for _, u := range updates {
			f, err := findFormation(b, u.Type)
			if err != nil {
				return err
			}
			if u.Quantity != nil {
				if *u.Quantity < 0 {
					return fmt.Errorf("quantity of %s is negative: %w", f.Type, core.ErrInvalid)
				}
				f.Quantity = *u.Quantity
			}
			if u.Size != nil {
				f.Size = *u.Size
			}
			f.UpdatedAt = s.now()
			if err := putJSON(b, []byte(f.Type), f); err != nil {
				return err
			}
			out = append(out, f)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteFormation implements [Formations].
func (s *Bolt) DeleteFormation(ctx context.Context, appID, typ string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b, err := appSub(tx, appID, sFormation)
		if err != nil {
			return err
		}
		if b.Get([]byte(typ)) == nil {
			return fmt.Errorf("process type %q: %w", typ, core.ErrNotFound)
		}
		return b.Delete([]byte(typ))
	})
}

// ---- dynos ----

// PutDyno implements [Dynos].
func (s *Bolt) PutDyno(ctx context.Context, d core.Dyno) (core.Dyno, error) {
	if d.Name == "" {
		return d, fmt.Errorf("dyno name is empty: %w", core.ErrInvalid)
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := appSub(tx, d.AppID, sDynos)
		if err != nil {
			return err
		}
		old, ok, err := getJSON[core.Dyno](b, []byte(d.Name))
		if err != nil {
			return err
		}
		now := s.now()
		if ok && d.ID == "" {
			d.ID = old.ID
		}
		if d.ID == "" {
			d.ID = newID()
		}
		if ok && d.CreatedAt.IsZero() {
			d.CreatedAt = old.CreatedAt
		}
		if d.CreatedAt.IsZero() {
			d.CreatedAt = now
		}
		d.UpdatedAt = now
		return putJSON(b, []byte(d.Name), d)
	})
	return d, err
}

// GetDyno implements [Dynos].
func (s *Bolt) GetDyno(ctx context.Context, appID, nameOrID string) (core.Dyno, error) {
	var d core.Dyno
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b, err := appSub(tx, appID, sDynos)
		if err != nil {
			return err
		}
		var ok bool
		d, ok, err = getJSON[core.Dyno](b, []byte(nameOrID))
		if err == nil && !ok {
			d, _, ok, err = findJSON(b, func(d core.Dyno) bool { return d.ID == nameOrID })
		}
		if err == nil && !ok {
			err = fmt.Errorf("dyno %q: %w", nameOrID, core.ErrNotFound)
		}
		return err
	})
	return d, err
}

// ListDynos implements [Dynos].
func (s *Bolt) ListDynos(ctx context.Context, appID string) ([]core.Dyno, error) {
	return viewApp(ctx, s, appID, sDynos, listJSON[core.Dyno])
}

// DeleteDyno implements [Dynos].
func (s *Bolt) DeleteDyno(ctx context.Context, appID, name string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b, err := appSub(tx, appID, sDynos)
		if err != nil {
			return err
		}
		if b.Get([]byte(name)) == nil {
			return fmt.Errorf("dyno %q: %w", name, core.ErrNotFound)
		}
		return b.Delete([]byte(name))
	})
}

// ---- builds and slugs ----

// CreateBuild implements [Builds].
func (s *Bolt) CreateBuild(ctx context.Context, b core.Build) (core.Build, error) {
	now := s.now()
	if b.ID == "" {
		b.ID = newID()
	}
	if b.Status == "" {
		b.Status = core.BuildPending
	}
	b.CreatedAt, b.UpdatedAt = now, now
	err := s.update(ctx, func(tx *bolt.Tx) error {
		bb, err := appSub(tx, b.AppID, sBuilds)
		if err != nil {
			return err
		}
		if bb.Get([]byte(b.ID)) != nil {
			return fmt.Errorf("build %q: %w", b.ID, core.ErrConflict)
		}
		return putJSON(bb, []byte(b.ID), b)
	})
	return b, err
}

// GetBuild implements [Builds].
func (s *Bolt) GetBuild(ctx context.Context, appID, id string) (core.Build, error) {
	return viewApp(ctx, s, appID, sBuilds, func(b *bolt.Bucket) (core.Build, error) { return mustGetJSON[core.Build](b, "build", id) })
}

// ListBuilds implements [Builds].
func (s *Bolt) ListBuilds(ctx context.Context, appID string) ([]core.Build, error) {
	out, err := viewApp(ctx, s, appID, sBuilds, listJSON[core.Build])
	slices.SortStableFunc(out, func(a, b core.Build) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

// UpdateBuild implements [Builds].
func (s *Bolt) UpdateBuild(ctx context.Context, appID, id string, fn func(*core.Build) error) (core.Build, error) {
	var b core.Build
	err := s.update(ctx, func(tx *bolt.Tx) error {
		bb, err := appSub(tx, appID, sBuilds)
		if err != nil {
			return err
		}
		old, ok, err := getJSON[core.Build](bb, []byte(id))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("build %q: %w", id, core.ErrNotFound)
		}
		b = old
		if err := fn(&b); err != nil {
			return err
		}
		b.ID, b.AppID, b.CreatedAt, b.UpdatedAt = old.ID, old.AppID, old.CreatedAt, s.now()
		return putJSON(bb, []byte(id), b)
	})
	return b, err
}

// CreateSlug implements [Slugs].
func (s *Bolt) CreateSlug(ctx context.Context, sl core.Slug) (core.Slug, error) {
	if sl.ID == "" {
		sl.ID = newID()
	}
	if sl.CreatedAt.IsZero() {
		sl.CreatedAt = s.now()
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := appSub(tx, sl.AppID, sSlugs)
		if err != nil {
			return err
		}
		if b.Get([]byte(sl.ID)) != nil {
			return fmt.Errorf("slug %q: %w", sl.ID, core.ErrConflict)
		}
		return putJSON(b, []byte(sl.ID), sl)
	})
	return sl, err
}

// GetSlug implements [Slugs].
func (s *Bolt) GetSlug(ctx context.Context, appID, id string) (core.Slug, error) {
	return viewApp(ctx, s, appID, sSlugs, func(b *bolt.Bucket) (core.Slug, error) { return mustGetJSON[core.Slug](b, "slug", id) })
}

// ---- add-ons ----

func lookupAddon(tx *bolt.Tx, idOrName string) (core.Addon, error) {
	if id := tx.Bucket(bAddonNames).Get([]byte(idOrName)); id != nil {
		idOrName = string(id)
	}
	a, ok, err := getJSON[core.Addon](tx.Bucket(bAddons), []byte(idOrName))
	if err == nil && !ok {
		err = fmt.Errorf("add-on %q: %w", idOrName, core.ErrNotFound)
	}
	return a, err
}

func deleteAddon(tx *bolt.Tx, a core.Addon) error {
	ats, err := listJSON[core.AddonAttachment](tx.Bucket(bAttachments))
	if err != nil {
		return err
	}
	for _, at := range ats {
		if at.AddonID == a.ID {
			if err := tx.Bucket(bAttachments).Delete([]byte(at.ID)); err != nil {
				return err
			}
		}
	}
	if err := tx.Bucket(bAddonNames).Delete([]byte(a.Name)); err != nil {
		return err
	}
	return tx.Bucket(bAddons).Delete([]byte(a.ID))
}

// CreateAddon implements [Addons].
func (s *Bolt) CreateAddon(ctx context.Context, a core.Addon) (core.Addon, error) {
	if a.Name == "" {
		return a, fmt.Errorf("add-on name is empty: %w", core.ErrInvalid)
	}
	now := s.now()
	if a.ID == "" {
		a.ID = newID()
	}
	a.CreatedAt, a.UpdatedAt = now, now
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if _, err := lookupApp(tx, a.AppID); err != nil {
			return err
		}
		if tx.Bucket(bAddonNames).Get([]byte(a.Name)) != nil {
			return fmt.Errorf("add-on name %q is already taken: %w", a.Name, core.ErrConflict)
		}
		if err := tx.Bucket(bAddonNames).Put([]byte(a.Name), []byte(a.ID)); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bAddons), []byte(a.ID), a)
	})
	return a, err
}

// GetAddon implements [Addons].
func (s *Bolt) GetAddon(ctx context.Context, idOrName string) (core.Addon, error) {
	var a core.Addon
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		a, err = lookupAddon(tx, idOrName)
		return err
	})
	return a, err
}

// ListAddons implements [Addons].
func (s *Bolt) ListAddons(ctx context.Context, appID string) ([]core.Addon, error) {
	var out []core.Addon
	err := s.view(ctx, func(tx *bolt.Tx) error {
		all, err := listJSON[core.Addon](tx.Bucket(bAddons))
		for _, a := range all {
			if appID == "" || a.AppID == appID {
				out = append(out, a)
			}
		}
		return err
	})
	slices.SortFunc(out, func(a, b core.Addon) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

// UpdateAddon implements [Addons].
func (s *Bolt) UpdateAddon(ctx context.Context, idOrName string, fn func(*core.Addon) error) (core.Addon, error) {
	var a core.Addon
	err := s.update(ctx, func(tx *bolt.Tx) error {
		old, err := lookupAddon(tx, idOrName)
		if err != nil {
			return err
		}
		a = old
		if err := fn(&a); err != nil {
			return err
		}
		a.ID, a.AppID, a.CreatedAt, a.UpdatedAt = old.ID, old.AppID, old.CreatedAt, s.now()
		if a.Name != old.Name {
			names := tx.Bucket(bAddonNames)
			if a.Name == "" {
				return fmt.Errorf("add-on name is empty: %w", core.ErrInvalid)
			}
			if names.Get([]byte(a.Name)) != nil {
				return fmt.Errorf("add-on name %q is already taken: %w", a.Name, core.ErrConflict)
			}
			if err := names.Delete([]byte(old.Name)); err != nil {
				return err
			}
			if err := names.Put([]byte(a.Name), []byte(a.ID)); err != nil {
				return err
			}
		}
		return putJSON(tx.Bucket(bAddons), []byte(a.ID), a)
	})
	return a, err
}

// DeleteAddon implements [Addons].
func (s *Bolt) DeleteAddon(ctx context.Context, idOrName string) (core.Addon, error) {
	var a core.Addon
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		a, err = lookupAddon(tx, idOrName)
		if err != nil {
			return err
		}
		return deleteAddon(tx, a)
	})
	return a, err
}

// CreateAttachment implements [Addons].
func (s *Bolt) CreateAttachment(ctx context.Context, at core.AddonAttachment) (core.AddonAttachment, error) {
	if at.Name == "" {
		return at, fmt.Errorf("attachment name is empty: %w", core.ErrInvalid)
	}
	if at.ID == "" {
		at.ID = newID()
	}
	at.CreatedAt = s.now()
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if _, err := lookupApp(tx, at.AppID); err != nil {
			return err
		}
		if _, err := lookupAddon(tx, at.AddonID); err != nil {
			return err
		}
		b := tx.Bucket(bAttachments)
		_, _, taken, err := findJSON(b, func(o core.AddonAttachment) bool { return o.AppID == at.AppID && o.Name == at.Name })
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("attachment name %q is already used by this app: %w", at.Name, core.ErrConflict)
		}
		return putJSON(b, []byte(at.ID), at)
	})
	return at, err
}

// GetAttachment implements [Addons].
func (s *Bolt) GetAttachment(ctx context.Context, id string) (core.AddonAttachment, error) {
	var at core.AddonAttachment
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var ok bool
		var err error
		at, ok, err = getJSON[core.AddonAttachment](tx.Bucket(bAttachments), []byte(id))
		if err == nil && !ok {
			err = fmt.Errorf("attachment %q: %w", id, core.ErrNotFound)
		}
		return err
	})
	return at, err
}

// ListAttachments implements [Addons].
func (s *Bolt) ListAttachments(ctx context.Context, f AttachmentFilter) ([]core.AddonAttachment, error) {
	out := []core.AddonAttachment{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		all, err := listJSON[core.AddonAttachment](tx.Bucket(bAttachments))
		for _, at := range all {
			if (f.AppID == "" || at.AppID == f.AppID) && (f.AddonID == "" || at.AddonID == f.AddonID) {
				out = append(out, at)
			}
		}
		return err
	})
	slices.SortFunc(out, func(a, b core.AddonAttachment) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

// DeleteAttachment implements [Addons].
func (s *Bolt) DeleteAttachment(ctx context.Context, id string) (core.AddonAttachment, error) {
	var at core.AddonAttachment
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var ok bool
		var err error
		at, ok, err = getJSON[core.AddonAttachment](tx.Bucket(bAttachments), []byte(id))
		if err == nil && !ok {
			err = fmt.Errorf("attachment %q: %w", id, core.ErrNotFound)
		}
		if err != nil {
			return err
		}
		return tx.Bucket(bAttachments).Delete([]byte(id))
	})
	return at, err
}

// ---- domains ----

// CreateDomain implements [Domains].
func (s *Bolt) CreateDomain(ctx context.Context, d core.Domain) (core.Domain, error) {
	d.Hostname = strings.ToLower(d.Hostname)
	if d.Hostname == "" {
		return d, fmt.Errorf("hostname is empty: %w", core.ErrInvalid)
	}
	if d.ID == "" {
		d.ID = newID()
	}
	if d.Kind == "" {
		d.Kind = "custom"
	}
	d.CreatedAt = s.now()
	d.UpdatedAt = d.CreatedAt
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := appSub(tx, d.AppID, sDomains)
		if err != nil {
			return err
		}
		if d.SNIEndpointID != "" {
			eb, _ := appSub(tx, d.AppID, sSNIEndpoints)
			e, _, err := findSNIEndpoint(eb, d.SNIEndpointID)
			if err != nil {
				return err
			}
			d.SNIEndpointID = e.ID
		}
		hosts := tx.Bucket(bHostnames)
		if hosts.Get([]byte(d.Hostname)) != nil {
			return fmt.Errorf("domain %q is already in use: %w", d.Hostname, core.ErrConflict)
		}
		if err := hosts.Put([]byte(d.Hostname), []byte(d.AppID)); err != nil {
			return err
		}
		return putJSON(b, []byte(d.ID), d)
	})
	return d, err
}

func findDomain(b *bolt.Bucket, idOrHostname string) (core.Domain, []byte, error) {
	host := strings.ToLower(idOrHostname)
	d, k, ok, err := findJSON(b, func(d core.Domain) bool { return d.ID == idOrHostname || d.Hostname == host })
	if err == nil && !ok {
		err = fmt.Errorf("domain %q: %w", idOrHostname, core.ErrNotFound)
	}
	return d, k, err
}

// GetDomain implements [Domains].
func (s *Bolt) GetDomain(ctx context.Context, appID, idOrHostname string) (core.Domain, error) {
	return viewApp(ctx, s, appID, sDomains, func(b *bolt.Bucket) (core.Domain, error) {
		v, _, err := findDomain(b, idOrHostname)
		return v, err
	})
}

// ListDomains implements [Domains].
func (s *Bolt) ListDomains(ctx context.Context, appID string) ([]core.Domain, error) {
	out, err := viewApp(ctx, s, appID, sDomains, listJSON[core.Domain])
	slices.SortFunc(out, func(a, b core.Domain) int { return strings.Compare(a.Hostname, b.Hostname) })
	return out, err
}

// DeleteDomain implements [Domains].
func (s *Bolt) DeleteDomain(ctx context.Context, appID, idOrHostname string) (core.Domain, error) {
	var d core.Domain
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := appSub(tx, appID, sDomains)
		if err != nil {
			return err
		}
		var k []byte
		d, k, err = findDomain(b, idOrHostname)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bHostnames).Delete([]byte(d.Hostname)); err != nil {
			return err
		}
		return b.Delete(k)
	})
	return d, err
}

// UpdateDomain implements [Domains].
func (s *Bolt) UpdateDomain(ctx context.Context, appID, idOrHostname string, fn func(*core.Domain) error) (core.Domain, error) {
	var d core.Domain
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := appSub(tx, appID, sDomains)
		if err != nil {
			return err
		}
		var k []byte
		d, k, err = findDomain(b, idOrHostname)
		if err != nil {
			return err
		}
		orig := d
		if err := fn(&d); err != nil {
			return err
		}
		d.ID, d.AppID, d.Hostname, d.Kind, d.CreatedAt = orig.ID, orig.AppID, orig.Hostname, orig.Kind, orig.CreatedAt
		if d.SNIEndpointID != "" {
			eb, err := appSub(tx, appID, sSNIEndpoints)
			if err != nil {
				return err
			}
			e, _, err := findSNIEndpoint(eb, d.SNIEndpointID)
			if err != nil {
				return err
			}
			d.SNIEndpointID = e.ID
		}
		d.UpdatedAt = s.now()
		return putJSON(b, k, d)
	})
	return d, err
}

// ---- SNI endpoints ----

func findSNIEndpoint(b *bolt.Bucket, idOrName string) (core.SNIEndpoint, []byte, error) {
	e, k, ok, err := findJSON(b, func(e core.SNIEndpoint) bool { return e.ID == idOrName || e.Name == idOrName })
	if err == nil && !ok {
		err = fmt.Errorf("SNI endpoint %q: %w", idOrName, core.ErrNotFound)
	}
	return e, k, err
}

// CreateSNIEndpoint implements [SNIEndpoints].
func (s *Bolt) CreateSNIEndpoint(ctx context.Context, e core.SNIEndpoint) (core.SNIEndpoint, error) {
	if e.Name == "" || e.CertificateChain == "" || e.PrivateKey == "" {
		return e, fmt.Errorf("SNI endpoint needs a name, a certificate chain and a private key: %w", core.ErrInvalid)
	}
	if e.ID == "" {
		e.ID = newID()
	}
	e.CreatedAt = s.now()
	e.UpdatedAt = e.CreatedAt
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := appSub(tx, e.AppID, sSNIEndpoints)
		if err != nil {
			return err
		}
		if _, _, err := findSNIEndpoint(b, e.Name); err == nil {
			return fmt.Errorf("SNI endpoint %q already exists: %w", e.Name, core.ErrConflict)
		}
		return putJSON(b, []byte(e.ID), e)
	})
	return e, err
}

// GetSNIEndpoint implements [SNIEndpoints].
func (s *Bolt) GetSNIEndpoint(ctx context.Context, appID, idOrName string) (core.SNIEndpoint, error) {
	return viewApp(ctx, s, appID, sSNIEndpoints, func(b *bolt.Bucket) (core.SNIEndpoint, error) {
		v, _, err := findSNIEndpoint(b, idOrName)
		return v, err
	})
}

// ListSNIEndpoints implements [SNIEndpoints].
func (s *Bolt) ListSNIEndpoints(ctx context.Context, appID string) ([]core.SNIEndpoint, error) {
	out, err := viewApp(ctx, s, appID, sSNIEndpoints, listJSON[core.SNIEndpoint])
	slices.SortFunc(out, func(a, b core.SNIEndpoint) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, err
}

// UpdateSNIEndpoint implements [SNIEndpoints].
func (s *Bolt) UpdateSNIEndpoint(ctx context.Context, appID, idOrName string, fn func(*core.SNIEndpoint) error) (core.SNIEndpoint, error) {
	var e core.SNIEndpoint
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := appSub(tx, appID, sSNIEndpoints)
		if err != nil {
			return err
		}
		var k []byte
		e, k, err = findSNIEndpoint(b, idOrName)
		if err != nil {
			return err
		}
		orig := e
		if err := fn(&e); err != nil {
			return err
		}
		e.ID, e.AppID, e.Name, e.CreatedAt = orig.ID, orig.AppID, orig.Name, orig.CreatedAt
		if e.CertificateChain == "" || e.PrivateKey == "" {
			return fmt.Errorf("SNI endpoint %q needs a certificate chain and a private key: %w", e.Name, core.ErrInvalid)
		}
		e.UpdatedAt = s.now()
		return putJSON(b, k, e)
	})
	return e, err
}

// DeleteSNIEndpoint implements [SNIEndpoints].
func (s *Bolt) DeleteSNIEndpoint(ctx context.Context, appID, idOrName string) (core.SNIEndpoint, error) {
	var e core.SNIEndpoint
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := appSub(tx, appID, sSNIEndpoints)
		if err != nil {
			return err
		}
		var k []byte
		e, k, err = findSNIEndpoint(b, idOrName)
		if err != nil {
			return err
		}
		db, _ := appSub(tx, appID, sDomains)
		ds, err := listJSON[core.Domain](db)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if d.SNIEndpointID == e.ID {
				d.SNIEndpointID = ""
				d.UpdatedAt = s.now()
				if err := putJSON(db, []byte(d.ID), d); err != nil {
					return err
				}
			}
		}
		return b.Delete(k)
	})
	return e, err
}

// ---- drains ----

// CreateDrain implements [Drains].
func (s *Bolt) CreateDrain(ctx context.Context, d core.Drain) (core.Drain, error) {
	if d.URL == "" {
		return d, fmt.Errorf("drain url is empty: %w", core.ErrInvalid)
	}
	if d.ID == "" {
		d.ID = newID()
	}
	if d.Token == "" {
		d.Token = "d." + newID()
	}
	d.CreatedAt = s.now()
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := appSub(tx, d.AppID, sDrains)
		if err != nil {
			return err
		}
		_, _, taken, err := findJSON(b, func(o core.Drain) bool { return o.URL == d.URL })
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("drain %q is already added to this app: %w", d.URL, core.ErrConflict)
		}
		return putJSON(b, []byte(d.ID), d)
	})
	return d, err
}

func findDrain(b *bolt.Bucket, key string) (core.Drain, []byte, error) {
	d, k, ok, err := findJSON(b, func(d core.Drain) bool { return d.ID == key || d.URL == key || d.Token == key })
	if err == nil && !ok {
		err = fmt.Errorf("drain %q: %w", key, core.ErrNotFound)
	}
	return d, k, err
}

// GetDrain implements [Drains].
func (s *Bolt) GetDrain(ctx context.Context, appID, idURLOrToken string) (core.Drain, error) {
	return viewApp(ctx, s, appID, sDrains, func(b *bolt.Bucket) (core.Drain, error) {
		v, _, err := findDrain(b, idURLOrToken)
		return v, err
	})
}

// ListDrains implements [Drains].
func (s *Bolt) ListDrains(ctx context.Context, appID string) ([]core.Drain, error) {
	out, err := viewApp(ctx, s, appID, sDrains, listJSON[core.Drain])
	slices.SortStableFunc(out, func(a, b core.Drain) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

// DeleteDrain implements [Drains].
func (s *Bolt) DeleteDrain(ctx context.Context, appID, idURLOrToken string) (core.Drain, error) {
	var d core.Drain
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := appSub(tx, appID, sDrains)
		if err != nil {
			return err
		}
		var k []byte
		d, k, err = findDrain(b, idURLOrToken)
		if err != nil {
			return err
		}
		return b.Delete(k)
	})
	return d, err
}

// ---- users and tokens ----

func lookupUser(tx *bolt.Tx, idOrEmail string) (core.User, error) {
	if id := tx.Bucket(bEmails).Get([]byte(strings.ToLower(idOrEmail))); id != nil {
		idOrEmail = string(id)
	}
	u, ok, err := getJSON[core.User](tx.Bucket(bUsers), []byte(idOrEmail))
	if err == nil && !ok {
		err = fmt.Errorf("user %q: %w", idOrEmail, core.ErrNotFound)
	}
	return u, err
}

// CreateUser implements [Users].
func (s *Bolt) CreateUser(ctx context.Context, u core.User) (core.User, error) {
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	if u.Email == "" {
		return u, fmt.Errorf("user email is empty: %w", core.ErrInvalid)
	}
	if u.ID == "" {
		u.ID = newID()
	}
	u.CreatedAt = s.now()
	err := s.update(ctx, func(tx *bolt.Tx) error {
		emails := tx.Bucket(bEmails)
		if emails.Get([]byte(u.Email)) != nil {
			return fmt.Errorf("email %q is already taken: %w", u.Email, core.ErrConflict)
		}
		if err := emails.Put([]byte(u.Email), []byte(u.ID)); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bUsers), []byte(u.ID), u)
	})
	return u, err
}

// GetUser implements [Users].
func (s *Bolt) GetUser(ctx context.Context, idOrEmail string) (core.User, error) {
	var u core.User
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		u, err = lookupUser(tx, idOrEmail)
		return err
	})
	return u, err
}

// ListUsers implements [Users].
func (s *Bolt) ListUsers(ctx context.Context) ([]core.User, error) {
	var out []core.User
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = listJSON[core.User](tx.Bucket(bUsers))
		return err
	})
	slices.SortFunc(out, func(a, b core.User) int { return strings.Compare(a.Email, b.Email) })
	return out, err
}

func tokenHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return []byte(hex.EncodeToString(h[:]))
}

// CreateToken implements [Tokens].
func (s *Bolt) CreateToken(ctx context.Context, t Token, secret string) (Token, error) {
	if len(secret) < 16 {
		return t, fmt.Errorf("token secret is shorter than 16 bytes: %w", core.ErrInvalid)
	}
	if t.ID == "" {
		t.ID = newID()
	}
	t.CreatedAt = s.now()
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if _, err := lookupUser(tx, t.UserID); err != nil {
			return err
		}
		h := tokenHash(secret)
		if tx.Bucket(bTokens).Get(h) != nil {
			return fmt.Errorf("token: %w", core.ErrConflict)
		}
		if err := tx.Bucket(bTokenIDs).Put([]byte(t.ID), h); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bTokens), h, t)
	})
	return t, err
}

// Authenticate implements [Tokens].
func (s *Bolt) Authenticate(ctx context.Context, secret string) (core.User, Token, error) {
	var u core.User
	var t Token
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var ok bool
		var err error
		t, ok, err = getJSON[Token](tx.Bucket(bTokens), tokenHash(secret))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("token: %w", core.ErrNotFound)
		}
		u, err = lookupUser(tx, t.UserID)
		return err
	})
	return u, t, err
}

// ListTokens implements [Tokens].
func (s *Bolt) ListTokens(ctx context.Context, userID string) ([]Token, error) {
	var out []Token
	err := s.view(ctx, func(tx *bolt.Tx) error {
		all, err := listJSON[Token](tx.Bucket(bTokens))
		for _, t := range all {
			if t.UserID == userID {
				out = append(out, t)
			}
		}
		return err
	})
	slices.SortStableFunc(out, func(a, b Token) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

// DeleteToken implements [Tokens].
func (s *Bolt) DeleteToken(ctx context.Context, id string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		h := tx.Bucket(bTokenIDs).Get([]byte(id))
		if h == nil {
			return fmt.Errorf("token %q: %w", id, core.ErrNotFound)
		}
		if err := tx.Bucket(bTokens).Delete(slices.Clone(h)); err != nil {
			return err
		}
		return tx.Bucket(bTokenIDs).Delete([]byte(id))
	})
}

// ---- collaborators ----

// AddCollaborator implements [Collaborators].
func (s *Bolt) AddCollaborator(ctx context.Context, c core.Collaborator) (core.Collaborator, error) {
	if c.ID == "" {
		c.ID = newID()
	}
	c.CreatedAt = s.now()
	err := s.update(ctx, func(tx *bolt.Tx) error {
		a, err := lookupApp(tx, c.AppID)
		if err != nil {
			return err
		}
		if _, err := lookupUser(tx, c.UserID); err != nil {
			return err
		}
		if a.OwnerID == c.UserID {
			return fmt.Errorf("user %q owns app %q: %w", c.UserID, a.Name, core.ErrConflict)
		}
		b, err := appSub(tx, a.ID, sCollaborators)
		if err != nil {
			return err
		}
		if b.Get([]byte(c.UserID)) != nil {
			return fmt.Errorf("user %q already collaborates on %q: %w", c.UserID, a.Name, core.ErrAlreadyExists)
		}
		if err := tx.Bucket(bUserApps).Put(userAppKey(c.UserID, a.ID), []byte("collaborator")); err != nil {
			return err
		}
		return putJSON(b, []byte(c.UserID), c)
	})
	return c, err
}

// ListCollaborators implements [Collaborators].
func (s *Bolt) ListCollaborators(ctx context.Context, appID string) ([]core.Collaborator, error) {
	out, err := viewApp(ctx, s, appID, sCollaborators, listJSON[core.Collaborator])
	slices.SortStableFunc(out, func(a, b core.Collaborator) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

func findCollaborator(b *bolt.Bucket, idOrUserID string) (core.Collaborator, error) {
	c, ok, err := getJSON[core.Collaborator](b, []byte(idOrUserID))
	if err == nil && !ok {
		c, _, ok, err = findJSON(b, func(c core.Collaborator) bool { return c.ID == idOrUserID })
	}
	if err == nil && !ok {
		err = fmt.Errorf("collaborator %q: %w", idOrUserID, core.ErrNotFound)
	}
	return c, err
}

// GetCollaborator implements [Collaborators].
func (s *Bolt) GetCollaborator(ctx context.Context, appID, idOrUserID string) (core.Collaborator, error) {
	return viewApp(ctx, s, appID, sCollaborators, func(b *bolt.Bucket) (core.Collaborator, error) { return findCollaborator(b, idOrUserID) })
}

// RemoveCollaborator implements [Collaborators].
func (s *Bolt) RemoveCollaborator(ctx context.Context, appID, idOrUserID string) (core.Collaborator, error) {
	var c core.Collaborator
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := appSub(tx, appID, sCollaborators)
		if err != nil {
			return err
		}
		c, err = findCollaborator(b, idOrUserID)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bUserApps).Delete(userAppKey(c.UserID, appID)); err != nil {
			return err
		}
		return b.Delete([]byte(c.UserID))
	})
	return c, err
}
