package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/paasd/paasd/core/attach"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/store"
)

// ---- formation ----

var formationFields = map[string]sortKey[core.Formation]{
	"id":   byString(func(f core.Formation) string { return f.ID }),
	"type": byString(func(f core.Formation) string { return f.Type }),
}

func (s *Server) listFormation(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	fs, err := s.st.ListFormation(r.Context(), a.ID)
	if err != nil {
		s.fail(w, err)
		return
	}
	paginate(w, r, fs, "id", formationFields, func(f core.Formation) any { return renderFormation(a, f) })
}

func (s *Server) getFormation(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	f, err := s.st.GetFormation(r.Context(), a.ID, r.PathValue("type"))
	if err != nil {
		s.fail(w, fmt.Errorf("couldn't find that process type (%s): %w", r.PathValue("type"), core.ErrNotFound))
		return
	}
	writeJSON(w, http.StatusOK, renderFormation(a, f))
}

// formationUpdate is one element of a formation PATCH.
type formationUpdate struct {
	Type     string  `json:"type"`
	Quantity flexInt `json:"quantity"`
	Size     *string `json:"size"`
}

// toStore validates u and converts it; i is its index for error messages.
func (u formationUpdate) toStore(field string) (store.FormationUpdate, error) {
	out := store.FormationUpdate{Type: u.Type}
	if u.Type == "" {
		return out, fmt.Errorf("%stype is required: %w", field, core.ErrInvalid)
	}
	if u.Quantity.set {
		if u.Quantity.n < 0 {
			return out, fmt.Errorf("%squantity must be 0 or more, not %d: %w", field, u.Quantity.n, core.ErrInvalid)
		}
		q := u.Quantity.n
		out.Quantity = &q
	}
	if u.Size != nil {
		size := strings.ToLower(*u.Size)
		if _, ok := core.LookupDynoSize(size); !ok {
			names := make([]string, len(core.DynoSizes))
			for i, ds := range core.DynoSizes {
				names[i] = ds.Name
			}
			return out, fmt.Errorf("%ssize %q is not a dyno size (%s): %w", field, *u.Size, strings.Join(names, ", "), core.ErrInvalid)
		}
		out.Size = &size
	}
	return out, nil
}

func (s *Server) applyFormation(w http.ResponseWriter, r *http.Request, a core.App, updates []store.FormationUpdate) ([]core.Formation, bool) {
	fs, err := s.st.UpdateFormation(r.Context(), a.ID, updates)
	if err != nil {
		if errors.Is(err, core.ErrNotFound) {
			err = fmt.Errorf("couldn't find that %w", err)
		}
		s.fail(w, err)
		return nil, false
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("%s@%d:%s", f.Type, f.Quantity, f.Size)
	}
	s.apiLog(r.Context(), a, "Scaled to %s by user %s", strings.Join(parts, " "), user(r).Email)
	s.converge(r.Context(), a.ID)
	return fs, true
}

func (s *Server) updateFormation(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	var req formationUpdate
	if !s.decode(w, r, &req) {
		return
	}
	req.Type = r.PathValue("type")
	up, err := req.toStore("")
	if err != nil {
		s.fail(w, err)
		return
	}
	if fs, ok := s.applyFormation(w, r, a, []store.FormationUpdate{up}); ok {
		writeJSON(w, http.StatusOK, renderFormation(a, fs[0]))
	}
}

func (s *Server) batchFormation(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	var req struct {
		Updates []formationUpdate `json:"updates"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	if len(req.Updates) == 0 {
		s.fail(w, fmt.Errorf("updates must list at least one process type: %w", core.ErrInvalid))
		return
	}
	ups := make([]store.FormationUpdate, len(req.Updates))
	for i, u := range req.Updates {
		var err error
		if ups[i], err = u.toStore(fmt.Sprintf("updates[%d].", i)); err != nil {
			s.fail(w, err)
			return
		}
	}
	fs, ok := s.applyFormation(w, r, a, ups)
	if !ok {
		return
	}
	out := make([]FormationJSON, len(fs))
	for i, f := range fs {
		out[i] = renderFormation(a, f)
	}
	writeJSON(w, http.StatusOK, out)
}

// ---- dynos ----

var dynoFields = map[string]sortKey[core.Dyno]{
	"id":   byString(func(d core.Dyno) string { return d.ID }),
	"name": byString(func(d core.Dyno) string { return d.Name }),
}

func (s *Server) listDynos(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	ds, err := s.st.ListDynos(r.Context(), a.ID)
	if err != nil {
		s.fail(w, err)
		return
	}
	paginate(w, r, ds, "id", dynoFields, func(d core.Dyno) any { return renderDyno(a, d) })
}

func (s *Server) getDyno(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	d, err := s.st.GetDyno(r.Context(), a.ID, r.PathValue("dyno"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, renderDyno(a, d))
}

func (s *Server) createDyno(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	var req RunRequest
	if !s.decode(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Command) == "" {
		s.fail(w, fmt.Errorf("command is required: %w", core.ErrInvalid))
		return
	}
	if req.Size != "" {
		req.Size = strings.ToLower(req.Size)
		if _, ok := core.LookupDynoSize(req.Size); !ok {
			s.fail(w, fmt.Errorf("size %q is not a dyno size: %w", req.Size, core.ErrInvalid))
			return
		}
	}
	if req.Type == "" {
		req.Type = "run"
	}
	d, err := s.opts.Dynos.Run(r.Context(), a, req)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.apiLog(r.Context(), a, "Starting process with command `%s` by user %s", req.Command, user(r).Email)
	out := renderDyno(a, d)
	if req.Attach && s.opts.Rendezvous != nil {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		u, err := s.opts.Rendezvous.AttachURL(a, d.Name, host, termSize(req.Env))
		if err != nil {
			s.fail(w, err)
			return
		}
		out.AttachURL = &u
	}
	writeJSON(w, http.StatusCreated, out)
}

// restartDynos is DELETE /apps/{app}/dynos[/{dyno}]: restart all dynos, a
// process type, or one dyno.
func (s *Server) restartDynos(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	target := r.PathValue("dyno")
	if err := s.opts.Dynos.Restart(r.Context(), a, target); err != nil {
		s.fail(w, err)
		return
	}
	if target == "" {
		s.apiLog(r.Context(), a, "Restart all dynos by user %s", user(r).Email)
	} else {
		s.apiLog(r.Context(), a, "Restart %s by user %s", target, user(r).Email)
	}
	writeJSON(w, http.StatusAccepted, struct{}{})
}

func (s *Server) stopDyno(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	target := r.PathValue("dyno")
	if err := s.opts.Dynos.Stop(r.Context(), a, target); err != nil {
		s.fail(w, err)
		return
	}
	s.apiLog(r.Context(), a, "Stop %s by user %s", target, user(r).Email)
	writeJSON(w, http.StatusAccepted, struct{}{})
}

// ---- builds and slugs ----

var buildFields = map[string]sortKey[core.Build]{
	"id":         byString(func(b core.Build) string { return b.ID }),
	"created_at": byString(func(b core.Build) string { return b.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000000Z") }),
}

func (s *Server) buildUser(r *http.Request, b core.Build) core.User {
	if u, err := s.st.GetUser(r.Context(), b.UserID); err == nil {
		return u
	}
	return core.User{ID: b.UserID}
}

func (s *Server) listBuilds(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	bs, err := s.st.ListBuilds(r.Context(), a.ID)
	if err != nil {
		s.fail(w, err)
		return
	}
	paginate(w, r, bs, "id", buildFields, func(b core.Build) any { return renderBuild(a, b, s.buildUser(r, b)) })
}

func (s *Server) getBuild(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	b, err := s.st.GetBuild(r.Context(), a.ID, r.PathValue("build"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, renderBuild(a, b, s.buildUser(r, b)))
}

func (s *Server) createBuild(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	var req struct {
		SourceBlob struct {
			URL      string `json:"url"`
			Checksum string `json:"checksum"`
			Version  string `json:"version"`
		} `json:"source_blob"`
		Buildpacks []struct {
			URL  string `json:"url"`
			Name string `json:"name"`
		} `json:"buildpacks"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	if req.SourceBlob.URL == "" {
		s.fail(w, fmt.Errorf("source_blob.url is required: %w", core.ErrInvalid))
		return
	}
	if u, err := url.Parse(req.SourceBlob.URL); err != nil || u.Scheme == "" {
		s.fail(w, fmt.Errorf("source_blob.url %q is not an absolute URL: %w", req.SourceBlob.URL, core.ErrInvalid))
		return
	}
	b := core.Build{AppID: a.ID, UserID: user(r).ID, SourceURL: req.SourceBlob.URL}
	for i, bp := range req.Buildpacks {
		ref := bp.URL
		if ref == "" {
			ref = bp.Name
		}
		if ref == "" {
			s.fail(w, fmt.Errorf("buildpacks[%d] needs a url or a name: %w", i, core.ErrInvalid))
			return
		}
		b.Buildpacks = append(b.Buildpacks, ref)
	}
	if len(b.Buildpacks) == 0 {
		b.Buildpacks = slices.Clone(a.Buildpacks)
	}
	b, err := s.st.CreateBuild(r.Context(), b)
	if err != nil {
		s.fail(w, err)
		return
	}
	if err := s.opts.Builder.Build(r.Context(), a, b); err != nil {
		s.fail(w, fmt.Errorf("start build: %w", err))
		return
	}
	s.apiLog(r.Context(), a, "Build started by user %s", user(r).Email)
	writeJSON(w, http.StatusCreated, renderBuild(a, b, user(r)))
}

var checksumRE = regexp.MustCompile(`^SHA256:[0-9a-f]{64}$`)

func (s *Server) createSlug(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	var req struct {
		ProcessTypes                 map[string]string `json:"process_types"`
		Checksum                     string            `json:"checksum"`
		Commit                       string            `json:"commit"`
		Stack                        string            `json:"stack"`
		BuildpackProvidedDescription string            `json:"buildpack_provided_description"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	if req.ProcessTypes == nil {
		s.fail(w, fmt.Errorf("process_types is required: %w", core.ErrInvalid))
		return
	}
	for typ := range req.ProcessTypes {
		if !processTypeRE.MatchString(typ) {
			s.fail(w, fmt.Errorf("process_types key %q is not a process type name (letters, digits, _ and -, up to 128): %w", typ, core.ErrInvalid))
			return
		}
	}
	if req.Checksum != "" && !checksumRE.MatchString(req.Checksum) {
		s.fail(w, fmt.Errorf("checksum %q must be \"SHA256:\" and 64 lower-case hex digits: %w", req.Checksum, core.ErrInvalid))
		return
	}
	if req.Stack == "" {
		req.Stack = a.Stack
	}
	sl, err := s.st.CreateSlug(r.Context(), core.Slug{AppID: a.ID, ProcessTypes: req.ProcessTypes, Checksum: req.Checksum,
		Commit: req.Commit, Stack: req.Stack, BuildpackProvidedDescription: req.BuildpackProvidedDescription})
	if err != nil {
		s.fail(w, err)
		return
	}
	u, err := s.opts.SlugBlobs.BlobURL(r.Context(), a, sl, "put")
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, renderSlug(sl, "put", u))
}

var processTypeRE = regexp.MustCompile(`^[-\w]{1,128}$`)

func (s *Server) getSlug(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	sl, err := s.st.GetSlug(r.Context(), a.ID, r.PathValue("slug"))
	if err != nil {
		s.fail(w, err)
		return
	}
	u, err := s.opts.SlugBlobs.BlobURL(r.Context(), a, sl, "get")
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, renderSlug(sl, "get", u))
}

// EnsureFormation makes the app's formation match a slug's process types,
// as Heroku does when a release with a new slug is created: a process type
// new to the app is added with quantity 1 for "web" and 0 otherwise, the
// command of an existing one is updated, and its scale is kept. The build
// pipeline calls it too.
func EnsureFormation(ctx context.Context, st store.Formations, appID string, slug core.Slug) error {
	current, err := st.ListFormation(ctx, appID)
	if err != nil {
		return err
	}
	for typ, cmd := range slug.ProcessTypes {
		i := slices.IndexFunc(current, func(f core.Formation) bool { return f.Type == typ })
		f := core.Formation{Type: typ, Command: cmd, Size: "basic"}
		if i >= 0 {
			f = current[i]
			f.Command = cmd
		} else if typ == "web" {
			f.Quantity = 1
		}
		if _, err := st.PutFormation(ctx, appID, f); err != nil {
			return fmt.Errorf("formation %s: %w", typ, err)
		}
	}
	return nil
}

// attachDyno upgrades the connection to the paasd-attach protocol
// (core/attach) and connects it to a one-off dyno's terminal: `paas run`.
func (s *Server) attachDyno(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	at, ok := s.opts.Dynos.(DynoAttacher)
	if !ok {
		s.fail(w, fmt.Errorf("this paasd cannot attach to dynos: %w", core.ErrUnsupported))
		return
	}
	h := &attach.Handler{Logger: s.log, Attach: func(ctx context.Context, _, dyno string, tio core.AttachIO) (int, error) {
		return at.Attach(ctx, a, dyno, tio)
	}}
	h.ServeHTTP(w, r)
}

// termSize reads the terminal size the Heroku CLI sends as the LINES and
// COLUMNS env vars of a one-off dyno; zero when absent or not numbers.
func termSize(env map[string]string) core.TermSize {
	rows, err1 := strconv.ParseUint(env["LINES"], 10, 16)
	cols, err2 := strconv.ParseUint(env["COLUMNS"], 10, 16)
	if err1 != nil || err2 != nil {
		return core.TermSize{}
	}
	return core.TermSize{Rows: uint16(rows), Cols: uint16(cols)}
}
