package runc

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/paasd/paasd/core/slug"
)

// slugCache extracts each slug once into a read-only tree that every dyno
// of the release shares as the lower layer of an overlay /app; each dyno
// writes to its own upper layer, thrown away at Remove. When the last dyno
// using a tree is removed the tree stays cached (a restarted dyno reuses
// it) among the idleKeep most recently released ones; older idle trees are
// deleted.
type slugCache struct {
	dir      string
	uid, gid int
	idleKeep int

	mu    sync.Mutex
	refs  map[string]int
	locks map[string]*sync.Mutex
	idle  []string // unreferenced cached trees, oldest first
}

// defaultIdleSlugs is how many unreferenced slug trees stay cached.
const defaultIdleSlugs = 4

func newSlugCache(dir string, uid, gid int) *slugCache {
	return &slugCache{dir: dir, uid: uid, gid: gid, idleKeep: defaultIdleSlugs,
		refs: map[string]int{}, locks: map[string]*sync.Mutex{}}
}

// unidleLocked takes key off the idle list.
func (c *slugCache) unidleLocked(key string) {
	for i, k := range c.idle {
		if k == key {
			c.idle = append(c.idle[:i], c.idle[i+1:]...)
			return
		}
	}
}

// key names a slug file's extracted tree: its path, size and modification
// time (slugs are content-addressed and never rewritten in place).
func (c *slugCache) key(path string) (string, error) {
	if path == "" {
		return "empty", nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("slug: %w", err)
	}
	h := sha256.Sum256([]byte(path + "\x00" + strconv.FormatInt(fi.Size(), 10) + "\x00" + strconv.FormatInt(fi.ModTime().UnixNano(), 10)))
	return hex.EncodeToString(h[:12]), nil
}

// acquire returns the extracted tree of the slug at path (extracting it on
// first use) and its key, and counts a reference to it.
func (c *slugCache) acquire(path string) (dir, key string, err error) {
	key, err = c.key(path)
	if err != nil {
		return "", "", err
	}
	c.mu.Lock()
	l, ok := c.locks[key]
	if !ok {
		l = &sync.Mutex{}
		c.locks[key] = l
	}
	c.refs[key]++
	c.unidleLocked(key)
	c.mu.Unlock()
	l.Lock()
	defer l.Unlock()
	dir = filepath.Join(c.dir, key)
	if isDir(dir) {
		return dir, key, nil
	}
	tmp, err := os.MkdirTemp(c.dir, key+".partial-")
	if err == nil {
		err = os.Chmod(tmp, 0o755)
	}
	if err == nil && path != "" {
		err = slug.ExtractFile(path, tmp)
	}
	if err == nil {
		err = chownTree(tmp, c.uid, c.gid)
	}
	if err == nil {
		err = os.Rename(tmp, dir)
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		c.release(key)
		return "", "", err
	}
	return dir, key, nil
}

// adopt counts a reference held by a dyno recovered from the state dir.
func (c *slugCache) adopt(key string) {
	if key == "" {
		return
	}
	c.mu.Lock()
	c.refs[key]++
	c.unidleLocked(key)
	c.mu.Unlock()
}

// scan puts cached trees no recovered dyno uses on the idle list (trimmed
// to idleKeep) and deletes trees left half-extracted by a crash. Call it
// after adopting the recovered dynos.
func (c *slugCache) scan() {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.Contains(name, ".partial-") || strings.HasPrefix(name, "overlay-probe-"):
			_ = os.RemoveAll(filepath.Join(c.dir, name))
		case c.refs[name] == 0:
			c.idle = append(c.idle, name)
		}
	}
	for len(c.idle) > c.idleKeep {
		_ = os.RemoveAll(filepath.Join(c.dir, c.idle[0]))
		c.idle = c.idle[1:]
	}
}

// release drops a reference and deletes the tree when none is left.
func (c *slugCache) release(key string) {
	if key == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refs[key]--
	if c.refs[key] > 0 {
		return
	}
	delete(c.refs, key)
	c.idle = append(c.idle, key)
	for len(c.idle) > c.idleKeep {
		old := c.idle[0]
		c.idle = c.idle[1:]
		delete(c.locks, old)
		_ = os.RemoveAll(filepath.Join(c.dir, old))
	}
}

// overlaySupported tries an overlay mount under dir.
func overlaySupported(dir string) bool {
	if strings.ContainsAny(dir, ",:") {
		return false // cannot be written in overlay mount options
	}
	probe, err := os.MkdirTemp(dir, "overlay-probe-")
	if err != nil {
		return false
	}
	defer os.RemoveAll(probe)
	var p [4]string
	for i, n := range []string{"lower", "upper", "work", "merged"} {
		p[i] = filepath.Join(probe, n)
		if err := os.Mkdir(p[i], 0o755); err != nil {
			return false
		}
	}
	if err := unix.Mount("overlay", p[3], "overlay", 0, overlayOptions(p[0], p[1], p[2])); err != nil {
		return false
	}
	_ = unix.Unmount(p[3], unix.MNT_DETACH)
	return true
}

func overlayOptions(lower, upper, work string) string {
	return "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
}
