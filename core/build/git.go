package build

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/paasd/paasd/core"
)

// DefaultMaxPushBytes bounds one push's pack (1 GB, Heroku's repository
// size limit).
const DefaultMaxPushBytes = 1 << 30

// Push is one deploying push: the pushed tree of main (or master), while
// `git push` waits.
type Push struct {
	// App is the app pushed to; UserID the user Authenticate returned.
	App    string
	UserID string
	// Ref is "refs/heads/main" or "refs/heads/master"; OldRev and NewRev
	// the commits (OldRev is all zeros for the first push).
	Ref    string
	OldRev string
	NewRev string
	// Source is the pushed tree as a tar archive (git archive), to pass as
	// Request.Source.
	Source io.Reader
	// Output reaches the pusher as "remote: " lines, as it is written.
	Output io.Writer
}

// GitOptions configure a GitServer. Every zero value is the documented
// default.
type GitOptions struct {
	// ReposDir holds the bare repositories (APP.git). Required.
	ReposDir string
	// Authenticate checks the API token of a request for app (the HTTP
	// Basic password; Heroku ignores the user name). It returns the user's
	// id to allow, or an error wrapping core.ErrInvalid for a bad token
	// (401), core.ErrPermissionDenied for a user without access (403),
	// core.ErrNotFound for an unknown app (404). Required.
	Authenticate func(ctx context.Context, app, token string) (userID string, err error)
	// Deploy builds and releases a push to main or master; its output
	// reaches the pusher, and an error rejects the push (its message is
	// shown) so the branch does not move. Required.
	Deploy func(ctx context.Context, p Push) error
	// MaxPushBytes bounds one push's pack; 0 means 1 GB.
	MaxPushBytes int64
	// Git is the git executable; empty means "git" from PATH.
	Git string
	// HookExecutable is re-executed as the pre-receive hook and must call
	// [MaybeRunHook] first thing in main; empty means os.Executable().
	HookExecutable string
	// Logger logs platform errors; nil means slog.Default().
	Logger *slog.Logger
}

// GitServer serves git's smart HTTP protocol for apps
// (/APP.git/info/refs, /APP.git/git-upload-pack, /APP.git/git-receive-pack)
// with `git http-backend`, and builds pushes to main or master in a
// pre-receive hook that calls back into this process over a private unix
// socket, so that the build's output streams to the pusher and a failed
// build rejects the push. Create it with NewGitServer; Close it when done.
type GitServer struct {
	opts   GitOptions
	git    string
	exe    string
	sock   string
	sockLn net.Listener
	token  string
	logger *slog.Logger
	locks  keyedMutex
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

var _ http.Handler = (*GitServer)(nil)

// NewGitServer returns a GitServer listening for its hooks.
func NewGitServer(opts GitOptions) (*GitServer, error) {
	if opts.ReposDir == "" || opts.Authenticate == nil || opts.Deploy == nil {
		return nil, fmt.Errorf("git server: ReposDir, Authenticate and Deploy are required: %w", core.ErrInvalid)
	}
	if opts.MaxPushBytes == 0 {
		opts.MaxPushBytes = DefaultMaxPushBytes
	}
	s := &GitServer{opts: opts, logger: opts.Logger}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	var err error
	s.git = opts.Git
	if s.git == "" {
		if s.git, err = exec.LookPath("git"); err != nil {
			return nil, fmt.Errorf("git server: %w", errors.Join(err, core.ErrUnavailable))
		}
	}
	s.exe = opts.HookExecutable
	if s.exe == "" {
		if s.exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("git server: hook executable: %w", err)
		}
	}
	if err := os.MkdirAll(opts.ReposDir, 0o700); err != nil {
		return nil, fmt.Errorf("git server: %w", err)
	}
	// Hooks report their repository by its physical path.
	if s.opts.ReposDir, err = filepath.Abs(opts.ReposDir); err == nil {
		s.opts.ReposDir, err = filepath.EvalSymlinks(s.opts.ReposDir)
	}
	if err != nil {
		return nil, fmt.Errorf("git server: repos dir: %w", err)
	}
	// A short private path: unix socket paths are limited to ~108 bytes.
	sockDir, err := os.MkdirTemp("", "paasd-git-")
	if err != nil {
		return nil, fmt.Errorf("git server: %w", err)
	}
	s.sock = filepath.Join(sockDir, "hook.sock")
	if s.sockLn, err = net.Listen("unix", s.sock); err != nil {
		os.RemoveAll(sockDir)
		return nil, fmt.Errorf("git server: hook socket: %w", err)
	}
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	s.token = hex.EncodeToString(tok[:])
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.acceptHooks()
	return s, nil
}

// Close stops serving hooks (pushes in progress are cancelled).
func (s *GitServer) Close() error {
	s.cancel()
	err := s.sockLn.Close()
	s.wg.Wait()
	os.RemoveAll(filepath.Dir(s.sock))
	return err
}

var gitPathRE = regexp.MustCompile(`^/([a-z][a-z0-9-]{1,29})\.git/(info/refs|git-upload-pack|git-receive-pack)$`)

// ServeHTTP implements http.Handler.
func (s *GitServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := gitPathRE.FindStringSubmatch(r.URL.Path)
	if m == nil {
		http.Error(w, "not a git repository path: want /APP.git/info/refs, /APP.git/git-upload-pack or /APP.git/git-receive-pack", http.StatusNotFound)
		return
	}
	app, op := m[1], m[2]
	service := op
	if op == "info/refs" {
		service = r.URL.Query().Get("service")
		if service != "git-upload-pack" && service != "git-receive-pack" {
			http.Error(w, "dumb HTTP git is not supported: use a git client that speaks smart HTTP", http.StatusForbidden)
			return
		}
	} else if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	_, token, ok := r.BasicAuth()
	if !ok || token == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="paasd"`)
		http.Error(w, "authentication required: use your API token as the password", http.StatusUnauthorized)
		return
	}
	user, err := s.opts.Authenticate(r.Context(), app, token)
	if err != nil {
		switch {
		case errors.Is(err, core.ErrNotFound):
			http.Error(w, fmt.Sprintf("app %q not found", app), http.StatusNotFound)
		case errors.Is(err, core.ErrPermissionDenied):
			http.Error(w, fmt.Sprintf("you do not have access to app %q", app), http.StatusForbidden)
		case errors.Is(err, core.ErrInvalid):
			w.Header().Set("WWW-Authenticate", `Basic realm="paasd"`)
			http.Error(w, "invalid credentials: use your API token as the password", http.StatusUnauthorized)
		default:
			s.logger.Error("git: authenticate", "app", app, "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
		return
	}
	repo, err := s.ensureRepo(app)
	if err != nil {
		s.logger.Error("git: repository", "app", app, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if service == "git-receive-pack" && op != "info/refs" {
		if r.ContentLength > s.opts.MaxPushBytes+1<<20 {
			s.tooLarge(w)
			return
		}
		// git enforces receive.maxInputSize with a clear message; this
		// bound is a backstop for what it reads past it.
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxPushBytes+1<<20)
	}
	if r.ContentLength < 0 || len(r.TransferEncoding) > 0 {
		// git sends packs over its post buffer (1 MB) chunked, which CGI
		// cannot pass on: spool the body to a file first.
		f, n, err := spool(r.Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				s.tooLarge(w)
				return
			}
			http.Error(w, "reading the push failed", http.StatusBadRequest)
			return
		}
		defer f.Close()
		r.Body, r.ContentLength, r.TransferEncoding = f, n, nil
		r.Header.Del("Transfer-Encoding")
	}
	h := &cgi.Handler{
		Path: s.git,
		Args: []string{"http-backend"},
		Dir:  repo,
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.opts.ReposDir,
			"GIT_HTTP_EXPORT_ALL=1",
			"REMOTE_USER=" + strings.ReplaceAll(user, "\n", ""),
			"PAASD_HOOK_EXE=" + s.exe,
			"PAASD_HOOK_SOCKET=" + s.sock,
			"PAASD_HOOK_TOKEN=" + s.token,
			"PAASD_HOOK_USER=" + strings.ReplaceAll(user, "\n", ""),
		},
		InheritEnv: []string{"PATH", "HOME", "TMPDIR", "LANG"},
		Stderr:     io.Discard,
	}
	h.ServeHTTP(&flushWriter{ResponseWriter: w}, r)
}

// tooLarge answers a receive-pack request over the size limit with a git
// side-band error, which the client prints as "remote error: …".
func (s *GitServer) tooLarge(w http.ResponseWriter) {
	msg := fmt.Sprintf("push rejected: pack exceeds maximum allowed size (%s)\n", humanSize(s.opts.MaxPushBytes))
	w.Header().Set("Content-Type", "application/x-git-receive-pack-result")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "%04x\x03%s0000", len(msg)+5, msg)
}

// spool copies body to an unlinked temporary file and returns it rewound.
func spool(body io.Reader) (*os.File, int64, error) {
	f, err := os.CreateTemp("", "paasd-push-*")
	if err != nil {
		return nil, 0, err
	}
	_ = os.Remove(f.Name())
	n, err := io.Copy(f, body)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, n, nil
}

// flushWriter flushes after every write so that the hook's output (git's
// sideband) reaches the pusher as it happens.
type flushWriter struct{ http.ResponseWriter }

func (f *flushWriter) Write(b []byte) (int, error) {
	n, err := f.ResponseWriter.Write(b)
	if fl, ok := f.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}

func (f *flushWriter) Flush() {
	if fl, ok := f.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
}

// hookScript is every repository's pre-receive hook.
const hookScript = `#!/bin/sh
# paasd: hand the push to the paasd process serving this repository.
if [ -z "$PAASD_HOOK_EXE" ] || [ -z "$PAASD_HOOK_SOCKET" ]; then
  echo "paasd: this repository only accepts pushes through paasd's git server" >&2
  exit 1
fi
PAASD_GIT_HOOK=pre-receive exec "$PAASD_HOOK_EXE"
`

// ensureRepo creates the app's bare repository on first use and keeps its
// hook and limits current.
func (s *GitServer) ensureRepo(app string) (string, error) {
	unlock := s.locks.lock(app)
	defer unlock()
	repo := filepath.Join(s.opts.ReposDir, app+".git")
	if _, err := os.Stat(filepath.Join(repo, "HEAD")); errors.Is(err, os.ErrNotExist) {
		tmp := repo + ".init"
		_ = os.RemoveAll(tmp)
		if out, err := exec.Command(s.git, "init", "--quiet", "--bare", "--initial-branch=main", tmp).CombinedOutput(); err != nil {
			return "", fmt.Errorf("git init: %s: %w", strings.TrimSpace(string(out)), err)
		}
		if err := os.Rename(tmp, repo); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", err
	}
	for _, kv := range [][2]string{
		{"http.receivepack", "true"},
		{"http.uploadpack", "true"},
		{"receive.maxInputSize", strconv.FormatInt(s.opts.MaxPushBytes, 10)},
		{"receive.denyDeletes", "true"},
		{"receive.denyNonFastForwards", "false"},
	} {
		if out, err := exec.Command(s.git, "--git-dir="+repo, "config", kv[0], kv[1]).CombinedOutput(); err != nil {
			return "", fmt.Errorf("git config %s: %s: %w", kv[0], strings.TrimSpace(string(out)), err)
		}
	}
	hook := filepath.Join(repo, "hooks", "pre-receive")
	if cur, err := os.ReadFile(hook); err != nil || string(cur) != hookScript {
		if err := os.MkdirAll(filepath.Dir(hook), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(hook+".tmp", []byte(hookScript), 0o755); err != nil {
			return "", err
		}
		if err := os.Rename(hook+".tmp", hook); err != nil {
			return "", err
		}
	}
	return repo, nil
}

// hookRequest is what the hook sends over the socket.
type hookRequest struct {
	Token   string            `json:"token"`
	GitDir  string            `json:"git_dir"`
	User    string            `json:"user"`
	Updates []refUpdate       `json:"updates"`
	Env     map[string]string `json:"env"`
}

type refUpdate struct {
	Old, New, Ref string
}

// Frame types on the hook socket: output bytes, then one exit status.
const (
	frameOutput = 'o'
	frameExit   = 'x'
)

func writeFrame(w io.Writer, typ byte, b []byte) error {
	var hdr [5]byte
	hdr[0] = typ
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(b)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(b)
	return err
}

func readFrame(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > 1<<20 {
		return 0, nil, fmt.Errorf("hook frame of %d bytes: %w", n, core.ErrInvalid)
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return hdr[0], b, err
}

// frameWriter sends output frames; safe for concurrent use.
type frameWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (f *frameWriter) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	total := len(b)
	for len(b) > 0 {
		n := min(len(b), 32<<10)
		if err := writeFrame(f.w, frameOutput, b[:n]); err != nil {
			return 0, err
		}
		b = b[n:]
	}
	return total, nil
}

func (s *GitServer) acceptHooks() {
	defer s.wg.Done()
	for {
		c, err := s.sockLn.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.serveHook(c)
		}()
	}
}

const zeroRev = "0000000000000000000000000000000000000000"

// serveHook runs one pre-receive hook invocation.
func (s *GitServer) serveHook(c net.Conn) {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	var req hookRequest
	if err := json.NewDecoder(io.LimitReader(c, 1<<20)).Decode(&req); err != nil {
		return
	}
	if subtle.ConstantTimeCompare([]byte(req.Token), []byte(s.token)) != 1 {
		return
	}
	// The pusher hanging up ends the hook's connection: cancel the build.
	go func() {
		_, _ = io.Copy(io.Discard, c)
		cancel()
	}()
	out := &frameWriter{w: c}
	err := s.handlePush(ctx, req, out)
	status := "0"
	if err != nil {
		status = "1"
	}
	out.mu.Lock()
	_ = writeFrame(c, frameExit, []byte(status))
	out.mu.Unlock()
}

func (s *GitServer) handlePush(ctx context.Context, req hookRequest, out io.Writer) error {
	repo, err := filepath.Abs(req.GitDir)
	if err == nil {
		repo, err = filepath.EvalSymlinks(repo)
	}
	if err != nil || filepath.Dir(repo) != s.opts.ReposDir || !strings.HasSuffix(repo, ".git") {
		fmt.Fprintf(out, "paasd: unexpected repository %q\n", req.GitDir)
		return fmt.Errorf("hook for unknown repository %q: %w", req.GitDir, core.ErrInvalid)
	}
	app := strings.TrimSuffix(filepath.Base(repo), ".git")
	var deploy []refUpdate
	for _, u := range req.Updates {
		switch {
		case u.Ref != "refs/heads/main" && u.Ref != "refs/heads/master":
			fmt.Fprintf(out, " !     Pushed to %s: only main or master deploy; push with `git push <remote> %s:main`\n",
				strings.TrimPrefix(u.Ref, "refs/heads/"), strings.TrimPrefix(u.Ref, "refs/heads/"))
			return fmt.Errorf("push to %s: %w", u.Ref, core.ErrInvalid)
		case u.New == zeroRev:
			fmt.Fprintf(out, " !     Deleting %s is not allowed\n", u.Ref)
			return fmt.Errorf("delete %s: %w", u.Ref, core.ErrInvalid)
		}
		deploy = append(deploy, u)
	}
	if len(deploy) > 1 {
		fmt.Fprintf(out, " !     Push main or master, not both at once\n")
		return fmt.Errorf("push to both main and master: %w", core.ErrInvalid)
	}
	for _, u := range deploy {
		if err := s.deploy(ctx, app, repo, req, u, out); err != nil {
			return err
		}
	}
	return nil
}

// deploy streams the pushed tree to Deploy.
func (s *GitServer) deploy(ctx context.Context, app, repo string, req hookRequest, u refUpdate, out io.Writer) error {
	if !revRE.MatchString(u.New) {
		return fmt.Errorf("bad revision %q: %w", u.New, core.ErrInvalid)
	}
	cmd := exec.CommandContext(ctx, s.git, "--git-dir="+repo, "archive", "--format=tar", u.New)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for _, k := range []string{"GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH"} {
		if v := req.Env[k]; v != "" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	src, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git archive: %w", err)
	}
	derr := s.opts.Deploy(ctx, Push{App: app, UserID: req.User, Ref: u.Ref, OldRev: u.Old, NewRev: u.New, Source: src, Output: out})
	_, _ = io.Copy(io.Discard, src)
	werr := cmd.Wait()
	if derr != nil {
		return derr
	}
	if werr != nil {
		fmt.Fprintf(out, " !     Reading the pushed tree failed\n")
		return fmt.Errorf("git archive %s: %s: %w", u.New, strings.TrimSpace(stderr.String()), werr)
	}
	return nil
}

var revRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// MaybeRunHook runs the git pre-receive hook and exits when the binary was
// re-executed as one by a GitServer's repository (PAASD_GIT_HOOK is set);
// otherwise it returns at once. Call it first thing in main, and in
// TestMain of tests that push.
func MaybeRunHook() {
	if os.Getenv("PAASD_GIT_HOOK") != "pre-receive" {
		return
	}
	os.Exit(runHook(os.Stdin, os.Stdout))
}

// runHook forwards git's ref updates to the server and relays its output.
func runHook(stdin io.Reader, stdout io.Writer) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stdout, " !     paasd: "+format+"\n", args...)
		return 1
	}
	req := hookRequest{Token: os.Getenv("PAASD_HOOK_TOKEN"), User: os.Getenv("PAASD_HOOK_USER"), Env: map[string]string{}}
	gitDir := os.Getenv("GIT_DIR")
	if gitDir == "" {
		gitDir = "."
	}
	abs, err := filepath.Abs(gitDir)
	if err != nil {
		return fail("git dir: %v", err)
	}
	req.GitDir = abs
	for _, k := range []string{"GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH"} {
		if v := os.Getenv(k); v != "" {
			parts := filepath.SplitList(v)
			for i, p := range parts {
				if !filepath.IsAbs(p) {
					parts[i] = filepath.Join(abs, p)
				}
			}
			v = strings.Join(parts, string(filepath.ListSeparator))
			req.Env[k] = v
		}
	}
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			continue
		}
		req.Updates = append(req.Updates, refUpdate{Old: f[0], New: f[1], Ref: f[2]})
	}
	c, err := net.Dial("unix", os.Getenv("PAASD_HOOK_SOCKET"))
	if err != nil {
		return fail("cannot reach the build service: %v", err)
	}
	defer c.Close()
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return fail("send push: %v", err)
	}
	for {
		typ, b, err := readFrame(c)
		if err != nil {
			return fail("build service hung up: %v", err)
		}
		switch typ {
		case frameOutput:
			_, _ = stdout.Write(b)
		case frameExit:
			if string(b) == "0" {
				return 0
			}
			return 1
		}
	}
}
