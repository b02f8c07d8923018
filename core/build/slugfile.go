package build

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/paasd/paasd/core"
)

// CreateSlug writes the tree at dir as a gzip-compressed tarball with
// Heroku's layout (every entry under "./app/") into slugDir, named by the
// SHA-256 of the tarball ([SlugFile]), and returns its checksum ("SHA256:<hex>") and
// size. Regular files, directories and symbolic links are kept (modes and
// modification times too, ownership is not); other file types are left
// out; group and other write bits are dropped. A slug larger than max bytes is an error wrapping core.ErrInvalid
// that states both sizes. Writing the same tree twice gives the same file.
func CreateSlug(ctx context.Context, dir, slugDir string, max int64) (string, int64, error) {
	tmp, err := os.CreateTemp(slugDir, ".slug-*.tmp")
	if err != nil {
		return "", 0, fmt.Errorf("create slug: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(tmp, h), max: max}
	bw := bufio.NewWriterSize(cw, 256<<10)
	zw, err := gzip.NewWriterLevel(bw, gzip.DefaultCompression)
	if err != nil {
		tmp.Close()
		return "", 0, fmt.Errorf("create slug: %w", err)
	}
	err = writeTar(ctx, zw, dir)
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, errTooLarge) {
		return "", 0, fmt.Errorf("compiled slug size exceeds the %s limit (%s so far); remove files with .slugignore or a smaller build: %w",
			humanSize(max), humanSize(cw.n), core.ErrInvalid)
	}
	if err != nil {
		return "", 0, fmt.Errorf("create slug: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	dst := SlugFile(slugDir, "SHA256:"+sum)
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", 0, fmt.Errorf("create slug: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", 0, fmt.Errorf("create slug: %w", err)
	}
	return "SHA256:" + sum, cw.n, nil
}

// SlugFile returns the file of the slug with checksum ("SHA256:<hex>") in
// slugDir: slugDir/<hex>.tgz, the name the platform's SlugPath uses.
func SlugFile(slugDir, checksum string) string {
	hex := strings.ToLower(checksum)
	hex = strings.TrimPrefix(hex, "sha256:")
	return filepath.Join(slugDir, hex+".tgz")
}

var errTooLarge = errors.New("slug too large")

// countWriter counts bytes and fails past max.
type countWriter struct {
	w   io.Writer
	n   int64
	max int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	if c.max > 0 && c.n+int64(len(b)) > c.max {
		c.n += int64(len(b))
		return 0, errTooLarge
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

func writeTar(ctx context.Context, w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "./app/", Mode: 0o755, Format: tar.FormatPAX}); err != nil {
		return err
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		name := "./app/" + filepath.ToSlash(rel)
		var link string
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		case fi.IsDir(), fi.Mode().IsRegular():
		default:
			return nil // sockets, FIFOs, devices: not part of a slug
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name = name
		if fi.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		// Build dirs are opened up for the unprivileged build dyno; the
		// slug keeps owner permissions and drops group and other write.
		hdr.Mode &^= 0o022
		hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
		hdr.Format = tar.FormatPAX
		hdr.PAXRecords = nil
		//lint:ignore SA1019 cleared for reproducible output
		hdr.Xattrs = nil
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.CopyN(tw, f, fi.Size())
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// ParseSlugignore parses a .slugignore file: one pattern per line, "#"
// comments and blank lines ignored. Patterns follow .gitignore's basic
// rules without negation: a pattern without a slash matches a file or
// directory name at any depth; one with a leading or inner slash is matched
// against the path from the app root; a trailing slash matches directories
// only; "*", "?" and "[…]" are shell wildcards within one path element and
// "**" matches any number of elements. It returns an error wrapping
// core.ErrInvalid naming the line of a malformed pattern.
func ParseSlugignore(r io.Reader) ([]IgnorePattern, error) {
	var out []IgnorePattern
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") {
			return nil, fmt.Errorf(".slugignore line %d: negation (%q) is not supported: %w", n, line, core.ErrInvalid)
		}
		p := IgnorePattern{}
		if strings.HasSuffix(line, "/") {
			p.DirOnly = true
			line = strings.TrimRight(line, "/")
		}
		if strings.Contains(line, "/") {
			p.Anchored = true
			line = strings.TrimLeft(line, "/")
		}
		if line == "" {
			continue
		}
		for _, el := range strings.Split(line, "/") {
			if el == "**" {
				continue
			}
			if _, err := path.Match(el, ""); err != nil {
				return nil, fmt.Errorf(".slugignore line %d: pattern %q: %v: %w", n, sc.Text(), err, core.ErrInvalid)
			}
		}
		p.Elems = strings.Split(line, "/")
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf(".slugignore: %v: %w", err, core.ErrInvalid)
	}
	return out, nil
}

// IgnorePattern is one parsed .slugignore line.
type IgnorePattern struct {
	// Elems are the pattern's path elements.
	Elems []string
	// Anchored patterns match from the app root; others match any suffix.
	Anchored bool
	// DirOnly patterns match directories only.
	DirOnly bool
}

// Match reports whether the slash-separated path rel (relative to the app
// root) matches.
func (p IgnorePattern) Match(rel string, isDir bool) bool {
	if p.DirOnly && !isDir {
		return false
	}
	parts := strings.Split(rel, "/")
	if p.Anchored {
		return matchElems(p.Elems, parts)
	}
	return len(parts) > 0 && matchElems(p.Elems, parts[len(parts)-1:])
}

func matchElems(pat, parts []string) bool {
	if len(pat) == 0 {
		return len(parts) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(parts); i++ {
			if matchElems(pat[1:], parts[i:]) {
				return true
			}
		}
		return false
	}
	if len(parts) == 0 {
		return false
	}
	ok, _ := path.Match(pat[0], parts[0])
	return ok && matchElems(pat[1:], parts[1:])
}

// ApplySlugignore removes from dir what dir/.slugignore lists (Heroku does
// this after the push and before the buildpacks run) and returns how many
// files and directories it removed. No .slugignore is not an error.
func ApplySlugignore(dir string) (int, error) {
	f, err := os.Open(filepath.Join(dir, ".slugignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf(".slugignore: %w", err)
	}
	pats, err := ParseSlugignore(f)
	f.Close()
	if err != nil {
		return 0, err
	}
	n := 0
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		for _, pat := range pats {
			if pat.Match(rel, d.IsDir()) {
				if err := os.RemoveAll(p); err != nil {
					return err
				}
				n++
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("apply .slugignore: %w", err)
	}
	return n, nil
}

// keyedMutex serialises work per key.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyLock{}
	}
	l := k.m[key]
	if l == nil {
		l = &keyLock{}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
