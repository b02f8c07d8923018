// Package api serves paasd's Platform API, compatible with the Heroku
// Platform API v3: the same paths, JSON shapes, status codes, error ids,
// Range pagination and authentication, so that the official Heroku CLI and
// Heroku API clients work against paasd.
//
// [Server] stores desired state through a [store.Store] and tells the rest
// of the platform about changes through small interfaces ([DynoManager],
// [Builder], [AddonService], [LogSessions], [APILogger], [RouteSyncer],
// [DrainSyncer], [SlugBlobs]); each has a default that keeps the API usable
// on its own. docs/api.md describes the resources and the interfaces.
//
// # Authorization
//
// Requests carry an API token, as "Authorization: Bearer <token>" or HTTP
// Basic with the token as password (what git and the Heroku CLI send). A
// user sees the apps they own or collaborate on; any other app is answered
// with 404 not_found, exactly as for an app that does not exist. Admin users
// see every app. Deleting an app and managing its collaborators is for its
// owner (and admins); collaborators get 403 forbidden.
package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/store"
)

// Options configure a [Server]. The zero value of every field is the
// documented default.
type Options struct {
	// Logger receives request and error logs; nil discards them.
	Logger *slog.Logger
	// AppDomain is the domain under which apps get their default hostname
	// "<app>.<AppDomain>"; empty means "localhost" (every *.localhost name
	// resolves to the loopback address).
	AppDomain string
	// RouterPort, if not empty, is appended to web URLs
	// ("http://app.localhost:8080/").
	RouterPort string
	// GitURL is the base URL of the git server ("http://127.0.0.1:5000");
	// git_url is "<GitURL>/<app>.git". Empty means "http://<AppDomain>".
	GitURL string
	// Stack is the stack of new apps; empty means "heroku-24".
	Stack string
	// Region is the region label of new apps; empty means "local".
	Region string
	// RateLimit is the number of requests a user may make per hour (Heroku:
	// 4500); zero means 4500, negative disables the limit.
	RateLimit int

	// Dynos is told about formation and release changes; nil stores them
	// and runs nothing (one-off dynos answer 503).
	Dynos DynoManager
	// Builder runs builds; nil leaves them pending.
	Builder Builder
	// Buildpacks vets the entries of apps' buildpack lists (PUT
	// /apps/{app}/buildpack-installations); nil accepts any reference.
	Buildpacks BuildpackChecker
	// SlugBlobs hands out slug blob URLs; nil leaves them empty.
	SlugBlobs SlugBlobs
	// Addons provisions add-ons; nil knows no add-on service (404).
	Addons AddonService
	// LogSessions mints log session URLs; nil answers 503.
	LogSessions LogSessions
	// APILog receives heroku[api] lines; nil writes them to Logger.
	APILog APILogger
	// Routes is told about route changes; nil does nothing.
	Routes RouteSyncer
	// Drains is told about drain changes; nil does nothing.
	Drains DrainSyncer
	// Sources hands out source upload URLs (POST /sources); nil answers
	// 501.
	Sources Sources
	// Rendezvous issues attach_url for one-off dynos created with attach:
	// true (`heroku run`); nil leaves attach_url null.
	Rendezvous Rendezvous
	// ACM is Automated Certificate Management; nil: POST /apps/{app}/acm
	// answers that it is unavailable.
	ACM ACM
}

var _ http.Handler = (*Server)(nil)

// Server is the Platform API. It is an http.Handler, safe for concurrent use.
type Server struct {
	st   store.Store
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux

	mu       sync.Mutex
	requests map[int]uint64
	buckets  map[string]*bucket
}

type ctxKey int

const userKey ctxKey = 0

// New returns a Server over st.
func New(st store.Store, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.AppDomain == "" {
		opts.AppDomain = "localhost"
	}
	if opts.GitURL == "" {
		opts.GitURL = "http://" + opts.AppDomain
	}
	if opts.Stack == "" {
		opts.Stack = "heroku-24"
	}
	if opts.Region == "" {
		opts.Region = "local"
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = 4500
	}
	if opts.Dynos == nil {
		opts.Dynos = noDynos{}
	}
	if opts.Builder == nil {
		opts.Builder = noBuilder{}
	}
	if opts.Buildpacks == nil {
		opts.Buildpacks = anyBuildpack{}
	}
	if opts.SlugBlobs == nil {
		opts.SlugBlobs = noBlobs{}
	}
	if opts.Addons == nil {
		opts.Addons = noAddons{}
	}
	if opts.LogSessions == nil {
		opts.LogSessions = noLogSessions{}
	}
	if opts.APILog == nil {
		opts.APILog = SlogAPILogger{opts.Logger}
	}
	if opts.Routes == nil {
		opts.Routes = noSync{}
	}
	if opts.Drains == nil {
		opts.Drains = noSync{}
	}
	s := &Server{st: st, opts: opts, log: opts.Logger, mux: http.NewServeMux(),
		requests: map[int]uint64{}, buckets: map[string]*bucket{}}
	s.routes()
	return s
}

// RequestCounts returns how many requests were answered with each status
// code since the server started.
func (s *Server) RequestCounts() map[int]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int]uint64, len(s.requests))
	for k, v := range s.requests {
		out[k] = v
	}
	return out
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ServeHTTP implements http.Handler: it authenticates the request, applies
// the rate limit and dispatches it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	start := time.Now()
	defer func() {
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		s.mu.Lock()
		s.requests[sw.status]++
		s.mu.Unlock()
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "duration", time.Since(start))
	}()
	w = sw
	w.Header().Set("Request-Id", newRequestID())
	if v := acceptVersion(r.Header.Get("Accept")); v != "" && !strings.HasPrefix(v, "3") {
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("API version %q is not supported; use Accept: application/vnd.heroku+json; version=3", v))
		return
	}
	u, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	if !s.allow(w, u.ID) {
		return
	}
	s.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey, u)))
}

// acceptVersion returns the version parameter of a vnd.heroku+json Accept
// header, or "".
func acceptVersion(accept string) string {
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, _ := strings.Cut(part, ";")
		if strings.TrimSpace(mt) != "application/vnd.heroku+json" {
			continue
		}
		for p := range strings.SplitSeq(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && k == "version" {
				return strings.TrimSpace(v)
			}
		}
	}
	return ""
}

func newRequestID() string { return uuid.NewString() }

// Token extracts the API token from an Authorization header: Bearer, or
// Basic with the token as password (any user name). It returns "" when
// there is none.
func Token(h string) string {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "bearer":
		return strings.TrimSpace(rest)
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return ""
		}
		_, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return ""
		}
		return pass
	}
	return ""
}

func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (core.User, bool) {
	tok := Token(r.Header.Get("Authorization"))
	if tok == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="paasd"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "Invalid credentials provided.")
		return core.User{}, false
	}
	u, _, err := s.st.Authenticate(r.Context(), tok)
	if errors.Is(err, core.ErrNotFound) {
		w.Header().Set("WWW-Authenticate", `Basic realm="paasd"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "Invalid credentials provided.")
		return core.User{}, false
	}
	if err != nil {
		s.fail(w, err)
		return core.User{}, false
	}
	return u, true
}

// bucket is a token bucket of one user's requests.
type bucket struct {
	tokens float64
	last   time.Time
}

func (s *Server) allow(w http.ResponseWriter, userID string) bool {
	limit := s.opts.RateLimit
	if limit < 0 {
		return true
	}
	s.mu.Lock()
	now := time.Now()
	b := s.buckets[userID]
	if b == nil {
		b = &bucket{tokens: float64(limit), last: now}
		s.buckets[userID] = b
	}
	b.tokens = min(float64(limit), b.tokens+now.Sub(b.last).Hours()*float64(limit))
	b.last = now
	ok := b.tokens >= 1
	if ok {
		b.tokens--
	}
	remaining := int(b.tokens)
	s.mu.Unlock()
	w.Header().Set("RateLimit-Remaining", strconv.Itoa(remaining))
	if !ok {
		writeError(w, http.StatusTooManyRequests, "rate_limit", "Your account reached the API rate limit. Please wait a few minutes before making new requests.")
	}
	return ok
}

func user(r *http.Request) core.User {
	u, _ := r.Context().Value(userKey).(core.User)
	return u
}

// fail maps an error to Heroku's status code and error id.
func (s *Server) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, core.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", message(err))
	case errors.Is(err, core.ErrInvalid):
		writeError(w, http.StatusUnprocessableEntity, "invalid_params", message(err))
	case errors.Is(err, core.ErrConflict), errors.Is(err, core.ErrAlreadyExists):
		writeError(w, http.StatusConflict, "conflict", message(err))
	case errors.Is(err, core.ErrPermissionDenied):
		writeError(w, http.StatusForbidden, "forbidden", message(err))
	case errors.Is(err, core.ErrUnavailable), errors.Is(err, core.ErrTimeout):
		writeError(w, http.StatusServiceUnavailable, "unavailable", message(err))
	case errors.Is(err, core.ErrUnsupported):
		writeError(w, http.StatusNotImplemented, "not_implemented", message(err))
	default:
		s.log.Error("internal error", "err", err)
		writeError(w, http.StatusInternalServerError, "internal_server_error", "Internal server error.")
	}
}

// message turns a wrapped error into a user-facing sentence: the context
// without the trailing sentinel text.
func message(err error) string {
	msg := err.Error()
	for _, sentinel := range []error{core.ErrNotFound, core.ErrInvalid, core.ErrConflict, core.ErrAlreadyExists,
		core.ErrPermissionDenied, core.ErrUnavailable, core.ErrUnsupported, core.ErrTimeout} {
		msg = strings.TrimSuffix(msg, ": "+sentinel.Error())
	}
	if msg == "" {
		return msg
	}
	// Capitalize a sentence, not a field name ("source_blob.url is …").
	if !fieldMessageRE.MatchString(msg) {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return msg + "."
}

// fieldMessageRE matches messages that start with a request field's name.
var fieldMessageRE = regexp.MustCompile(`^[a-z_][a-zA-Z0-9_.\[\]]*( "[^"]*")? (must|is|needs|has|of)\b`)

// maxBody bounds request bodies.
const maxBody = 1 << 20

// DecodeBody decodes a JSON request body into v. An empty body leaves v
// unchanged. Errors wrap core.ErrInvalid and name the offending field;
// a syntax error is returned as a *json.SyntaxError-wrapping error with
// position, so the caller can answer 400.
func DecodeBody(body io.Reader, v any) error {
	raw, err := io.ReadAll(io.LimitReader(body, maxBody+1))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if len(raw) > maxBody {
		return fmt.Errorf("request body is larger than %d bytes: %w", maxBody, core.ErrInvalid)
	}
	if len(strings.TrimSpace(string(raw))) == 0 {
		return nil
	}
	err = json.Unmarshal(raw, v)
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return fmt.Errorf("request body: expected %s, found %s: %w", jsonType(te.Type.String()), te.Value, core.ErrInvalid)
		}
		return fmt.Errorf("%s must be %s, not %s: %w", field, jsonType(te.Type.String()), te.Value, core.ErrInvalid)
	case errors.As(err, &se):
		return &badJSONError{fmt.Errorf("request body is not valid JSON (at byte %d): %w", se.Offset, se)}
	default:
		return &badJSONError{fmt.Errorf("request body is not valid JSON: %w", err)}
	}
}

func jsonType(goType string) string {
	switch {
	case strings.Contains(goType, "int"), strings.Contains(goType, "float"):
		return "a number"
	case strings.Contains(goType, "bool"):
		return "a boolean"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map"), strings.Contains(goType, "struct"):
		return "an object"
	default:
		return "a string"
	}
}

// badJSONError is a body that is not JSON at all (400 bad_request).
type badJSONError struct{ err error }

func (e *badJSONError) Error() string { return e.err.Error() }
func (e *badJSONError) Unwrap() error { return e.err }

// decode decodes the request body into v and answers 400/422 on failure.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	err := DecodeBody(r.Body, v)
	if err == nil {
		return true
	}
	var bj *badJSONError
	if errors.As(err, &bj) {
		writeError(w, http.StatusBadRequest, "bad_request", message(err))
		return false
	}
	s.fail(w, err)
	return false
}

// visible reports whether u may see app a.
func (s *Server) visible(ctx context.Context, u core.User, a core.App) (bool, error) {
	if u.Admin || a.OwnerID == u.ID {
		return true, nil
	}
	_, err := s.st.GetCollaborator(ctx, a.ID, u.ID)
	if errors.Is(err, core.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

var errAppNotFound = fmt.Errorf("couldn't find that app: %w", core.ErrNotFound)

// app resolves the {app} path value to an app the user may see, or answers
// 404 (also for apps that exist but are not visible).
func (s *Server) app(w http.ResponseWriter, r *http.Request) (core.App, bool) {
	a, err := s.st.GetApp(r.Context(), r.PathValue("app"))
	if errors.Is(err, core.ErrNotFound) {
		s.fail(w, errAppNotFound)
		return a, false
	}
	if err != nil {
		s.fail(w, err)
		return a, false
	}
	ok, err := s.visible(r.Context(), user(r), a)
	if err != nil {
		s.fail(w, err)
		return a, false
	}
	if !ok {
		s.fail(w, errAppNotFound)
		return a, false
	}
	return a, true
}

// ownedApp is app plus the rule that only the owner or an admin may act.
func (s *Server) ownedApp(w http.ResponseWriter, r *http.Request, action string) (core.App, bool) {
	a, ok := s.app(w, r)
	if !ok {
		return a, false
	}
	if u := user(r); !u.Admin && u.ID != a.OwnerID {
		s.fail(w, fmt.Errorf("only the owner of %s can %s: %w", a.Name, action, core.ErrPermissionDenied))
		return a, false
	}
	return a, true
}

// apiLog writes an heroku[api] line for app.
func (s *Server) apiLog(ctx context.Context, a core.App, format string, args ...any) {
	s.opts.APILog.LogAPI(ctx, a, fmt.Sprintf(format, args...))
}

// converge tells the dyno manager; failures are logged (the state is stored).
func (s *Server) converge(ctx context.Context, appID string) {
	if err := s.opts.Dynos.Converge(ctx, appID); err != nil {
		s.log.Warn("dyno manager converge failed", "app", appID, "err", err)
	}
}

func (s *Server) syncRoutes(ctx context.Context, appID string) {
	if err := s.opts.Routes.SyncRoutes(ctx, appID); err != nil {
		s.log.Warn("route sync failed", "app", appID, "err", err)
	}
}

func (s *Server) syncDrains(ctx context.Context, appID string) {
	if err := s.opts.Drains.SyncDrains(ctx, appID); err != nil {
		s.log.Warn("drain sync failed", "app", appID, "err", err)
	}
}
