// Package slug extracts slug tarballs safely into a directory.
//
// A slug is a (optionally gzip-compressed) tar archive of an app's /app
// directory. Heroku's own slug format stores every entry under "./app/";
// [ExtractFile] detects that layout and strips the prefix, so both Heroku
// slugs and plain tarballs of an app directory extract to the same tree.
//
// Extraction refuses, with an error wrapping core.ErrInvalid that names the
// entry: absolute entry names, names with ".." components, symbolic links
// whose target leaves the destination (absolute targets are allowed only
// under /app, which is where the destination is mounted in a dyno), hard
// links to outside the destination, and device, FIFO or other special files.
// All file system operations go through an [os.Root], so even a sequence of
// entries that passes these checks cannot write outside the destination.
//
// # Notes
//
// Ownership in the archive is ignored (files belong to the extracting user;
// runtimes chown the tree to the dyno's user afterwards); setuid, setgid and
// sticky bits are dropped.
package slug

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/paasd/paasd/core"
)

// MountPoint is where a slug is mounted inside a dyno. Absolute symbolic
// link targets under it are accepted.
const MountPoint = "/app"

// Options tune an extraction. The zero value is the documented default.
type Options struct {
	// StripPrefix is a leading directory removed from every entry name
	// (e.g. "app" for Heroku's "./app/..." layout); entries outside it are
	// refused. Empty means none.
	StripPrefix string
	// MaxBytes bounds the total size of regular files; 0 means 4 GiB.
	MaxBytes int64
}

const defaultMaxBytes = 4 << 30

// ExtractFile extracts the slug tarball at src into dest (which must exist),
// detecting Heroku's "./app/" layout.
func ExtractFile(src, dest string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open slug: %w", err)
	}
	defer f.Close()
	underApp, err := allUnder(f, "app")
	if err != nil {
		return fmt.Errorf("slug %s: %w", src, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("slug %s: rewind: %w", src, err)
	}
	opts := Options{}
	if underApp {
		opts.StripPrefix = "app"
	}
	if err := Extract(f, dest, opts); err != nil {
		return fmt.Errorf("slug %s: %w", src, err)
	}
	return nil
}

// allUnder reports whether every entry of the archive lies under dir (and
// there is at least one entry).
func allUnder(r io.Reader, dir string) (bool, error) {
	tr, err := newTarReader(r)
	if err != nil {
		return false, err
	}
	n := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return n > 0, nil
		}
		if err != nil {
			return false, fmt.Errorf("read tar: %v: %w", err, core.ErrInvalid)
		}
		n++
		name := cleanName(h.Name)
		if name != dir && !strings.HasPrefix(name, dir+"/") {
			return false, nil
		}
	}
}

// newTarReader returns a tar reader over r, decompressing gzip when r starts
// with the gzip magic.
func newTarReader(r io.Reader) (*tar.Reader, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(2)
	if err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %v: %w", err, core.ErrInvalid)
		}
		return tar.NewReader(zr), nil
	}
	return tar.NewReader(br), nil
}

// cleanName turns a tar entry name into a slash path without a leading "./"
// or trailing slash; it keeps ".." and leading "/" so that checks see them.
func cleanName(name string) string {
	for strings.HasPrefix(name, "./") {
		name = name[2:]
	}
	return strings.TrimSuffix(name, "/")
}

// Extract extracts the tar stream r (gzip-compressed or not) into dest, which
// must exist. On error, dest may hold part of the slug; callers remove it.
func Extract(r io.Reader, dest string, opts Options) error {
	max := opts.MaxBytes
	if max == 0 {
		max = defaultMaxBytes
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return fmt.Errorf("open destination: %w", err)
	}
	defer root.Close()
	tr, err := newTarReader(r)
	if err != nil {
		return err
	}
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar: %v: %w", err, core.ErrInvalid)
		}
		name, err := entryName(h.Name, opts.StripPrefix)
		if err != nil {
			return err
		}
		if name == "" { // the root itself
			continue
		}
		if err := noLinkParents(root, name); err != nil {
			return fmt.Errorf("entry %q: %w", h.Name, err)
		}
		if err := root.MkdirAll(path.Dir(name), 0o755); err != nil && path.Dir(name) != "." {
			return fmt.Errorf("entry %q: make parent: %w", h.Name, err)
		}
		perm := os.FileMode(h.Mode) & os.ModePerm
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return fmt.Errorf("entry %q: %w", h.Name, err)
			}
			if err := root.Chmod(name, perm|0o700); err != nil {
				return fmt.Errorf("entry %q: %w", h.Name, err)
			}
		//lint:ignore SA1019 old archives use TypeRegA
		case tar.TypeReg, tar.TypeRegA:
			total += h.Size
			if total > max {
				return fmt.Errorf("entry %q: slug larger than %d bytes: %w", h.Name, max, core.ErrInvalid)
			}
			_ = root.Remove(name)
			f, err := root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
			if err != nil {
				return fmt.Errorf("entry %q: %w", h.Name, err)
			}
			_, err = io.Copy(f, io.LimitReader(tr, h.Size))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("entry %q: write: %w", h.Name, err)
			}
			if err := root.Chmod(name, perm); err != nil {
				return fmt.Errorf("entry %q: %w", h.Name, err)
			}
		case tar.TypeSymlink:
			if err := checkLinkTarget(name, h.Linkname); err != nil {
				return fmt.Errorf("entry %q: %w", h.Name, err)
			}
			_ = root.Remove(name)
			if err := root.Symlink(h.Linkname, name); err != nil {
				return fmt.Errorf("entry %q: %w", h.Name, err)
			}
		case tar.TypeLink:
			target, err := entryName(h.Linkname, opts.StripPrefix)
			if err != nil || target == "" {
				return fmt.Errorf("entry %q: hard link to %q outside the slug: %w", h.Name, h.Linkname, core.ErrInvalid)
			}
			_ = root.Remove(name)
			if err := root.Link(target, name); err != nil {
				return fmt.Errorf("entry %q: hard link: %w", h.Name, err)
			}
		case tar.TypeXGlobalHeader, tar.TypeXHeader, tar.TypeGNULongName, tar.TypeGNULongLink:
			// Metadata, already applied by archive/tar.
		default:
			return fmt.Errorf("entry %q: file type %q (device, FIFO or other special file) not allowed in a slug: %w",
				h.Name, string(h.Typeflag), core.ErrInvalid)
		}
	}
}

// entryName validates a tar entry name and returns it relative to the
// destination, with strip removed.
func entryName(raw, strip string) (string, error) {
	if raw == "" || strings.ContainsRune(raw, 0) {
		return "", fmt.Errorf("entry %q: empty or NUL in name: %w", raw, core.ErrInvalid)
	}
	if strings.HasPrefix(raw, "/") {
		return "", fmt.Errorf("entry %q: absolute path: %w", raw, core.ErrInvalid)
	}
	name := cleanName(raw)
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("entry %q: path traversal (..): %w", raw, core.ErrInvalid)
		}
	}
	name = path.Clean(name)
	if name == "." {
		name = ""
	}
	if strip != "" {
		switch {
		case name == strip:
			return "", nil
		case strings.HasPrefix(name, strip+"/"):
			name = name[len(strip)+1:]
		default:
			return "", fmt.Errorf("entry %q: outside %s/: %w", raw, strip, core.ErrInvalid)
		}
	}
	return name, nil
}

// checkLinkTarget refuses a symbolic link at name (relative to the slug
// root) whose target resolves outside the slug root.
func checkLinkTarget(name, target string) error {
	if target == "" || strings.ContainsRune(target, 0) {
		return fmt.Errorf("symbolic link with empty target: %w", core.ErrInvalid)
	}
	if strings.HasPrefix(target, "/") {
		t := path.Clean(target)
		if t != MountPoint && !strings.HasPrefix(t, MountPoint+"/") {
			return fmt.Errorf("symbolic link to %q outside %s: %w", target, MountPoint, core.ErrInvalid)
		}
		return nil
	}
	// Leading ".." components may climb at most to the slug root; a ".."
	// after a named component is refused, since that component may itself
	// be a link and the kernel would not resolve it lexically.
	ups, depth := 0, strings.Count(name, "/")
	parts := strings.Split(target, "/")
	for len(parts) > 0 && parts[0] == ".." {
		ups++
		parts = parts[1:]
	}
	for _, p := range parts {
		if p == ".." {
			return fmt.Errorf("symbolic link to %q: \"..\" after a named component: %w", target, core.ErrInvalid)
		}
	}
	if ups > depth {
		return fmt.Errorf("symbolic link to %q escapes the slug: %w", target, core.ErrInvalid)
	}
	return nil
}

// noLinkParents refuses an entry whose parent directories include a
// symbolic link: link targets are checked lexically, which only holds when
// no directory on the way is itself a link.
func noLinkParents(root *os.Root, name string) error {
	dir := path.Dir(name)
	if dir == "." {
		return nil
	}
	parts := strings.Split(dir, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		fi, err := root.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("stat %q: %w", p, err)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("path goes through symbolic link %q: %w", p, core.ErrInvalid)
		}
	}
	return nil
}
