package runc

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/paasd/paasd/core"
)

// HostStack is the default stack: the host's /usr, /etc and library dirs
// bind-mounted read-only. Nothing is downloaded.
const HostStack = "heroku-24-host"

// stack is a resolved root file system.
type stack struct {
	// rootfs is the directory that becomes the dyno's read-only root.
	rootfs string
	// mounts are extra read-only binds (the host stack's /usr, /etc, …).
	mounts []specs.Mount
}

// stackNameRE allows names such as "heroku-24" or "heroku-24@20250101".
var stackNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._@+-]{0,63}$`)

// stacks resolves stack names to root file systems, preparing each once.
type stacks struct {
	stateDir  string // skeletons of the host stack and extracted tarballs
	stacksDir string // operator-provided stacks
	mu        sync.Mutex
	ready     map[string]*stack
}

// resolve returns the named stack. Stacks are, in order: HostStack; a
// directory STACKS/NAME holding a root file system; a tarball
// STACKS/NAME.tar, NAME.tar.gz or NAME.tgz, extracted once into the state
// dir. An unknown or malformed name is an error wrapping core.ErrInvalid.
func (s *stacks) resolve(name string) (*stack, error) {
	if !stackNameRE.MatchString(name) {
		return nil, fmt.Errorf("stack %q: want lower-case letters, digits and . _ @ + -: %w", name, core.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.ready[name]; ok {
		return st, nil
	}
	var st *stack
	var err error
	switch {
	case name == HostStack:
		st, err = s.hostStack()
	case s.stacksDir != "" && isDir(filepath.Join(s.stacksDir, name)):
		st, err = dirStack(filepath.Join(s.stacksDir, name))
	default:
		st, err = s.tarStack(name)
	}
	if err != nil {
		return nil, err
	}
	s.ready[name] = st
	return st, nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// mountpoints are created in every stack's root before first use, since
// the root is read-only inside dynos.
var mountpoints = []string{"app", "tmp", "proc", "dev", "sys", "etc"}

func prepareRoot(root string) error {
	for _, d := range mountpoints {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return fmt.Errorf("stack root %s: %w", root, err)
		}
	}
	for _, f := range []string{"etc/hosts", "etc/hostname", "etc/resolv.conf"} {
		p := filepath.Join(root, f)
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				return fmt.Errorf("stack root %s: %w", root, err)
			}
		}
	}
	return nil
}

// hostStack builds a skeleton root whose /usr, /etc and top-level library
// dirs are read-only binds of the host's (links such as /bin -> usr/bin on
// merged-/usr systems are reproduced as links).
func (s *stacks) hostStack() (*stack, error) {
	root := filepath.Join(s.stateDir, "stacks", HostStack)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("host stack: %w", err)
	}
	st := &stack{rootfs: root}
	for _, d := range []string{"usr", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "opt"} {
		host := "/" + d
		fi, err := os.Lstat(host)
		if err != nil {
			continue
		}
		dst := filepath.Join(root, d)
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(host)
			if err != nil {
				return nil, fmt.Errorf("host stack: %w", err)
			}
			if cur, err := os.Readlink(dst); err != nil || cur != target {
				_ = os.RemoveAll(dst)
				if err := os.Symlink(target, dst); err != nil {
					return nil, fmt.Errorf("host stack: %w", err)
				}
			}
			continue
		}
		if !fi.IsDir() {
			continue
		}
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return nil, fmt.Errorf("host stack: %w", err)
		}
		st.mounts = append(st.mounts, specs.Mount{Destination: host, Type: "bind", Source: host,
			Options: []string{"rbind", "ro", "nosuid", "nodev"}})
	}
	if err := prepareRoot(root); err != nil {
		return nil, err
	}
	return st, nil
}

// dirStack uses an operator-provided root file system in place.
func dirStack(dir string) (*stack, error) {
	if !isDir(filepath.Join(dir, "bin")) && !isDir(filepath.Join(dir, "usr", "bin")) {
		return nil, fmt.Errorf("stack %s: no bin or usr/bin: not a root file system: %w", dir, core.ErrInvalid)
	}
	if err := prepareRoot(dir); err != nil {
		return nil, err
	}
	return &stack{rootfs: dir}, nil
}

// tarStack extracts STACKS/NAME.tar[.gz] into the state dir once.
func (s *stacks) tarStack(name string) (*stack, error) {
	var src string
	for _, ext := range []string{".tar", ".tar.gz", ".tgz"} {
		p := filepath.Join(s.stacksDir, name+ext)
		if s.stacksDir != "" {
			if _, err := os.Stat(p); err == nil {
				src = p
				break
			}
		}
	}
	if src == "" {
		return nil, fmt.Errorf("stack %q: not %s and not in the stacks dir %q: %w", name, HostStack, s.stacksDir, core.ErrNotFound)
	}
	dest := filepath.Join(s.stateDir, "stacks", name)
	if isDir(dest) {
		return dirStack(dest)
	}
	tmp := dest + ".partial"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("stack %s: %w", name, err)
	}
	if err := extractStack(src, tmp); err != nil {
		_ = os.RemoveAll(tmp)
		return nil, fmt.Errorf("stack %s: %w", name, err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		return nil, fmt.Errorf("stack %s: %w", name, err)
	}
	return dirStack(dest)
}

// extractStack unpacks a trusted stack tarball (made by the operator, e.g.
// from debootstrap) keeping ownership and modes. Device nodes and FIFOs are
// skipped (dynos get their own /dev); every write goes through an os.Root.
func extractStack(src, dest string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(src, "gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		r = zr
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	type dirMode struct {
		name string
		mode os.FileMode
	}
	var dirs []dirMode
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "/"))
		if name == "." || name == ".." || strings.HasPrefix(name, "../") {
			continue
		}
		if dir := path.Dir(name); dir != "." {
			if err := root.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
		}
		mode := h.FileInfo().Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
			_ = root.Lchown(name, h.Uid, h.Gid)
			dirs = append(dirs, dirMode{name, mode})
		case tar.TypeReg:
			_ = root.Remove(name)
			w, err := root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
			_, err = io.Copy(w, tr)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
			if err := root.Lchown(name, h.Uid, h.Gid); err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
			if err := root.Chmod(name, mode); err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
		case tar.TypeSymlink:
			_ = root.Remove(name)
			if err := root.Symlink(h.Linkname, name); err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
			_ = root.Lchown(name, h.Uid, h.Gid)
		case tar.TypeLink:
			_ = root.Remove(name)
			if err := root.Link(path.Clean(strings.TrimPrefix(h.Linkname, "/")), name); err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
		default:
			// Devices, FIFOs: dynos get their own /dev.
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = root.Chmod(dirs[i].name, dirs[i].mode)
	}
	return nil
}
