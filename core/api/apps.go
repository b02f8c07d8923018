package api

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/store"
)

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /account", s.getAccount)
	m.HandleFunc("GET /users/{user}", s.getUser)
	m.HandleFunc("POST /users", s.createUser)
	m.HandleFunc("GET /oauth/authorizations", s.listAuthorizations)
	m.HandleFunc("POST /oauth/authorizations", s.createAuthorization)
	m.HandleFunc("DELETE /oauth/authorizations/{id}", s.deleteAuthorization)

	m.HandleFunc("GET /apps", s.listApps)
	m.HandleFunc("GET /users/{user}/apps", s.listUserApps)
	m.HandleFunc("POST /apps", s.createApp)
	m.HandleFunc("GET /apps/{app}", s.getApp)
	m.HandleFunc("PATCH /apps/{app}", s.updateApp)
	m.HandleFunc("DELETE /apps/{app}", s.deleteApp)
	s.acmRoutes(m)
	m.HandleFunc("GET /apps/{app}/features", s.listFeatures)
	m.HandleFunc("GET /apps/{app}/features/{feature}", s.getFeature)
	m.HandleFunc("PATCH /apps/{app}/features/{feature}", s.updateFeature)
	m.HandleFunc("GET /apps/{app}/sni-endpoints", s.listSNIEndpoints)
	m.HandleFunc("POST /apps/{app}/sni-endpoints", s.createSNIEndpoint)
	m.HandleFunc("GET /apps/{app}/sni-endpoints/{endpoint}", s.getSNIEndpoint)
	m.HandleFunc("PATCH /apps/{app}/sni-endpoints/{endpoint}", s.updateSNIEndpoint)
	m.HandleFunc("DELETE /apps/{app}/sni-endpoints/{endpoint}", s.deleteSNIEndpoint)
	m.HandleFunc("GET /apps/{app}/pipeline-couplings", s.notFoundPipeline)

	m.HandleFunc("GET /apps/{app}/config-vars", s.getConfigVars)
	m.HandleFunc("PATCH /apps/{app}/config-vars", s.patchConfigVars)

	m.HandleFunc("GET /apps/{app}/releases", s.listReleases)
	m.HandleFunc("POST /apps/{app}/releases", s.createRelease)
	m.HandleFunc("GET /apps/{app}/releases/{release}", s.getRelease)
	m.HandleFunc("GET /apps/{app}/releases/{release}/config-vars", s.getReleaseConfigVars)

	m.HandleFunc("GET /apps/{app}/formation", s.listFormation)
	m.HandleFunc("PATCH /apps/{app}/formation", s.batchFormation)
	m.HandleFunc("GET /apps/{app}/formation/{type}", s.getFormation)
	m.HandleFunc("PATCH /apps/{app}/formation/{type}", s.updateFormation)

	m.HandleFunc("GET /apps/{app}/dynos", s.listDynos)
	m.HandleFunc("POST /apps/{app}/dynos", s.createDyno)
	m.HandleFunc("DELETE /apps/{app}/dynos", s.restartDynos)
	m.HandleFunc("GET /apps/{app}/dynos/{dyno}", s.getDyno)
	m.HandleFunc("DELETE /apps/{app}/dynos/{dyno}", s.restartDynos)
	m.HandleFunc("POST /apps/{app}/dynos/{dyno}/actions/stop", s.stopDyno)
	m.HandleFunc("GET /apps/{app}/dynos/{dyno}/attach", s.attachDyno)

	m.HandleFunc("GET /apps/{app}/buildpack-installations", s.listBuildpackInstallations)
	m.HandleFunc("PUT /apps/{app}/buildpack-installations", s.updateBuildpackInstallations)

	m.HandleFunc("GET /apps/{app}/builds", s.listBuilds)
	m.HandleFunc("POST /apps/{app}/builds", s.createBuild)
	m.HandleFunc("GET /apps/{app}/builds/{build}", s.getBuild)
	m.HandleFunc("POST /apps/{app}/slugs", s.createSlug)
	m.HandleFunc("POST /sources", s.createSource)
	m.HandleFunc("POST /apps/{app}/sources", s.createSource)
	m.HandleFunc("GET /apps/{app}/slugs/{slug}", s.getSlug)

	m.HandleFunc("GET /addons", s.listAllAddons)
	m.HandleFunc("GET /addons/{addon}", s.getAddon)
	m.HandleFunc("GET /apps/{app}/addons", s.listAppAddons)
	m.HandleFunc("POST /apps/{app}/addons", s.createAddon)
	m.HandleFunc("GET /apps/{app}/addons/{addon}", s.getAddon)
	m.HandleFunc("DELETE /apps/{app}/addons/{addon}", s.deleteAddon)
	m.HandleFunc("GET /addon-attachments", s.listAllAttachments)
	m.HandleFunc("POST /addon-attachments", s.createAttachment)
	m.HandleFunc("GET /addon-attachments/{attachment}", s.getAttachment)
	m.HandleFunc("DELETE /addon-attachments/{attachment}", s.deleteAttachment)
	m.HandleFunc("GET /addons/{addon}/addon-attachments", s.listAddonAttachments)
	m.HandleFunc("GET /apps/{app}/addon-attachments", s.listAppAttachments)
	m.HandleFunc("GET /apps/{app}/addon-attachments/{attachment}", s.getAppAttachment)
	m.HandleFunc("POST /actions/addons/resolve", s.resolveAddons)
	m.HandleFunc("POST /actions/addon-attachments/resolve", s.resolveAttachments)

	m.HandleFunc("GET /apps/{app}/log-drains", s.listDrains)
	m.HandleFunc("POST /apps/{app}/log-drains", s.createDrain)
	m.HandleFunc("GET /apps/{app}/log-drains/{drain}", s.getDrain)
	m.HandleFunc("DELETE /apps/{app}/log-drains/{drain}", s.deleteDrain)
	m.HandleFunc("POST /apps/{app}/log-sessions", s.createLogSession)

	m.HandleFunc("GET /apps/{app}/domains", s.listDomains)
	m.HandleFunc("POST /apps/{app}/domains", s.createDomain)
	m.HandleFunc("GET /apps/{app}/domains/{domain}", s.getDomain)
	m.HandleFunc("PATCH /apps/{app}/domains/{domain}", s.updateDomain)
	m.HandleFunc("DELETE /apps/{app}/domains/{domain}", s.deleteDomain)

	m.HandleFunc("GET /apps/{app}/collaborators", s.listCollaborators)
	m.HandleFunc("POST /apps/{app}/collaborators", s.createCollaborator)
	m.HandleFunc("GET /apps/{app}/collaborators/{collaborator}", s.getCollaborator)
	m.HandleFunc("DELETE /apps/{app}/collaborators/{collaborator}", s.deleteCollaborator)

	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "The requested API endpoint was not found. Are you using the right HTTP verb (e.g. `GET` vs. `POST`), and did you specify your intended version with the `Accept` header?")
	})
}

// ---- account and users ----

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, renderAccount(user(r)))
}

// lookupUser resolves "~", an id or an email to a user the caller may see:
// themselves, or anyone for an admin.
func (s *Server) lookupUser(w http.ResponseWriter, r *http.Request, idOrEmail string) (core.User, bool) {
	me := user(r)
	if idOrEmail == "~" || idOrEmail == me.ID || strings.EqualFold(idOrEmail, me.Email) {
		return me, true
	}
	if !me.Admin {
		s.fail(w, fmt.Errorf("couldn't find that user: %w", core.ErrNotFound))
		return core.User{}, false
	}
	u, err := s.st.GetUser(r.Context(), idOrEmail)
	if errors.Is(err, core.ErrNotFound) {
		err = fmt.Errorf("couldn't find that user: %w", core.ErrNotFound)
	}
	if err != nil {
		s.fail(w, err)
		return u, false
	}
	return u, true
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	if u, ok := s.lookupUser(w, r, r.PathValue("user")); ok {
		writeJSON(w, http.StatusOK, renderAccount(u))
	}
}

// NewTokenSecret returns a fresh API token secret.
func NewTokenSecret() string { return "HRKU-" + rand.Text() + rand.Text() }

// createUser is a paasd extension (admins only): POST /users {email, admin}
// creates an account and answers it with a first API token in "api_key".
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	if !user(r).Admin {
		s.fail(w, fmt.Errorf("only admins can create users: %w", core.ErrPermissionDenied))
		return
	}
	var req struct {
		Email string `json:"email"`
		Admin bool   `json:"admin"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	if !strings.Contains(req.Email, "@") {
		s.fail(w, fmt.Errorf("email %q is not an email address: %w", req.Email, core.ErrInvalid))
		return
	}
	u, err := s.st.CreateUser(r.Context(), core.User{Email: req.Email, Admin: req.Admin})
	if err != nil {
		s.fail(w, err)
		return
	}
	secret := NewTokenSecret()
	if _, err := s.st.CreateToken(r.Context(), store.Token{UserID: u.ID, Description: "created with the account"}, secret); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		AccountJSON
		APIKey string `json:"api_key"`
	}{renderAccount(u), secret})
}

// AuthorizationJSON is the oauth-authorization resource (API tokens).
type AuthorizationJSON struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	AccessToken *struct {
		ExpiresIn *int   `json:"expires_in"`
		ID        string `json:"id"`
		Token     string `json:"token"`
	} `json:"access_token"`
	Scope     []string `json:"scope"`
	CreatedAt Time     `json:"created_at"`
	UpdatedAt Time     `json:"updated_at"`
	User      UserRef  `json:"user"`
}

func renderAuthorization(u core.User, t store.Token, secret string) AuthorizationJSON {
	out := AuthorizationJSON{ID: t.ID, Description: t.Description, Scope: []string{"global"},
		CreatedAt: Time(t.CreatedAt), UpdatedAt: Time(t.CreatedAt), User: UserRef{ID: u.ID, Email: u.Email}}
	if secret != "" {
		out.AccessToken = &struct {
			ExpiresIn *int   `json:"expires_in"`
			ID        string `json:"id"`
			Token     string `json:"token"`
		}{ID: t.ID, Token: secret}
	}
	return out
}

func (s *Server) listAuthorizations(w http.ResponseWriter, r *http.Request) {
	u := user(r)
	toks, err := s.st.ListTokens(r.Context(), u.ID)
	if err != nil {
		s.fail(w, err)
		return
	}
	paginate(w, r, toks, "id", map[string]sortKey[store.Token]{"id": byString(func(t store.Token) string { return t.ID })},
		func(t store.Token) any { return renderAuthorization(u, t, "") })
}

func (s *Server) createAuthorization(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Description string `json:"description"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	u := user(r)
	secret := NewTokenSecret()
	t, err := s.st.CreateToken(r.Context(), store.Token{UserID: u.ID, Description: req.Description}, secret)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, renderAuthorization(u, t, secret))
}

func (s *Server) deleteAuthorization(w http.ResponseWriter, r *http.Request) {
	u := user(r)
	toks, err := s.st.ListTokens(r.Context(), u.ID)
	if err != nil {
		s.fail(w, err)
		return
	}
	i := slices.IndexFunc(toks, func(t store.Token) bool { return t.ID == r.PathValue("id") })
	if i < 0 {
		s.fail(w, fmt.Errorf("couldn't find that authorization: %w", core.ErrNotFound))
		return
	}
	if err := s.st.DeleteToken(r.Context(), toks[i].ID); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, renderAuthorization(u, toks[i], ""))
}

// ---- apps ----

var appNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{1,28}[a-z0-9]$`)

const appNameRule = "Name must start with a letter, end with a letter or digit and can only contain lowercase letters, digits, and dashes (3 to 30 characters)."

func (s *Server) renderApp(ctx context.Context, a core.App) AppJSON {
	owner, err := s.st.GetUser(ctx, a.OwnerID)
	if err != nil {
		owner = core.User{ID: a.OwnerID}
	}
	out := AppJSON{BuildStack: Ref{ID: a.Stack, Name: a.Stack}, CreatedAt: Time(a.CreatedAt),
		GitURL: strings.TrimSuffix(s.opts.GitURL, "/") + "/" + a.Name + ".git", ID: a.ID,
		ACM: a.ACM, Maintenance: a.Maintenance, Name: a.Name, Owner: UserRef{ID: owner.ID, Email: owner.Email},
		Region: Ref{ID: a.Region, Name: a.Region}, ReleasedAt: Time(a.ReleasedAt),
		Stack: Ref{ID: a.Stack, Name: a.Stack}, UpdatedAt: Time(a.UpdatedAt), WebURL: s.webURL(a.Name)}
	return out
}

func (s *Server) hostname(app string) string { return app + "." + s.opts.AppDomain }

func (s *Server) webURL(app string) string {
	host := s.hostname(app)
	if s.opts.RouterPort != "" {
		host += ":" + s.opts.RouterPort
	}
	return "http://" + host + "/"
}

var appFields = map[string]sortKey[core.App]{
	"id":   byString(func(a core.App) string { return a.ID }),
	"name": byString(func(a core.App) string { return a.Name }),
}

func (s *Server) writeApps(w http.ResponseWriter, r *http.Request, apps []core.App) {
	paginate(w, r, apps, "id", appFields, func(a core.App) any { return s.renderApp(r.Context(), a) })
}

// listApps is GET /apps: the caller's apps; every app for an admin.
func (s *Server) listApps(w http.ResponseWriter, r *http.Request) {
	u := user(r)
	uid := u.ID
	if u.Admin {
		uid = ""
	}
	apps, err := s.st.ListApps(r.Context(), uid)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.writeApps(w, r, apps)
}

// listUserApps is GET /users/{user}/apps: the apps the user owns or
// collaborates on.
func (s *Server) listUserApps(w http.ResponseWriter, r *http.Request) {
	u, ok := s.lookupUser(w, r, r.PathValue("user"))
	if !ok {
		return
	}
	apps, err := s.st.ListApps(r.Context(), u.ID)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.writeApps(w, r, apps)
}

var nameWords = [2][]string{
	{"ancient", "bold", "calm", "damp", "eager", "fancy", "gentle", "hidden", "icy", "jolly", "keen", "lively", "misty", "noble", "odd", "polar", "quiet", "rapid", "shy", "tidy", "vast", "warm", "young", "zesty"},
	{"brook", "cloud", "dawn", "dune", "field", "forest", "grove", "harbor", "island", "lake", "meadow", "moon", "ocean", "peak", "river", "shore", "sky", "star", "stream", "sun", "valley", "wave", "wind", "wood"},
}

func pick(words []string) string {
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(words))))
	return words[n.Int64()]
}

func randomName() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(90000))
	return fmt.Sprintf("%s-%s-%05d", pick(nameWords[0]), pick(nameWords[1]), 10000+n.Int64())
}

func (s *Server) createApp(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name   *string `json:"name"`
		Region *string `json:"region"`
		Stack  *string `json:"stack"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	u := user(r)
	a := core.App{OwnerID: u.ID, Stack: s.opts.Stack, Region: s.opts.Region}
	if req.Stack != nil && *req.Stack != "" {
		a.Stack = *req.Stack
	}
	if req.Region != nil && *req.Region != "" {
		a.Region = *req.Region
	}
	generated := req.Name == nil || *req.Name == ""
	for attempt := 0; ; attempt++ {
		if generated {
			a.Name = randomName()
		} else {
			a.Name = *req.Name
			if !appNameRE.MatchString(a.Name) {
				writeError(w, http.StatusUnprocessableEntity, "invalid_params", appNameRule)
				return
			}
		}
		created, rel, err := s.st.CreateApp(r.Context(), a, core.Release{Description: "Initial release", UserID: u.ID, UserEmail: u.Email})
		if errors.Is(err, core.ErrConflict) {
			if generated && attempt < 5 {
				continue
			}
			writeError(w, http.StatusUnprocessableEntity, "invalid_params", fmt.Sprintf("Name %s is already taken", a.Name))
			return
		}
		if err != nil {
			s.fail(w, err)
			return
		}
		if _, err := s.st.CreateDomain(r.Context(), core.Domain{AppID: created.ID, Hostname: s.hostname(created.Name), Kind: "heroku"}); err != nil {
			s.log.Warn("default domain not created", "app", created.Name, "err", err)
		}
		s.apiLog(r.Context(), created, "Release v%d created by user %s", rel.Version, u.Email)
		s.syncRoutes(r.Context(), created.ID)
		writeJSON(w, http.StatusCreated, s.renderApp(r.Context(), created))
		return
	}
}

func (s *Server) getApp(w http.ResponseWriter, r *http.Request) {
	if a, ok := s.app(w, r); ok {
		writeJSON(w, http.StatusOK, s.renderApp(r.Context(), a))
	}
}

func (s *Server) updateApp(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	var req struct {
		Name        *string `json:"name"`
		Maintenance *bool   `json:"maintenance"`
		BuildStack  *string `json:"build_stack"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	if req.Name != nil && *req.Name != a.Name && !appNameRE.MatchString(*req.Name) {
		writeError(w, http.StatusUnprocessableEntity, "invalid_params", appNameRule)
		return
	}
	updated, err := s.st.UpdateApp(r.Context(), a.ID, func(x *core.App) error {
		if req.Name != nil {
			x.Name = *req.Name
		}
		if req.Maintenance != nil {
			x.Maintenance = *req.Maintenance
		}
		if req.BuildStack != nil && *req.BuildStack != "" {
			x.Stack = *req.BuildStack
		}
		return nil
	})
	if errors.Is(err, core.ErrConflict) {
		writeError(w, http.StatusUnprocessableEntity, "invalid_params", fmt.Sprintf("Name %s is already taken", *req.Name))
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	u := user(r)
	if updated.Name != a.Name {
		// The default hostname follows the name.
		if _, err := s.st.DeleteDomain(r.Context(), a.ID, s.hostname(a.Name)); err != nil && !errors.Is(err, core.ErrNotFound) {
			s.log.Warn("old default domain not removed", "app", a.Name, "err", err)
		}
		if _, err := s.st.CreateDomain(r.Context(), core.Domain{AppID: a.ID, Hostname: s.hostname(updated.Name), Kind: "heroku"}); err != nil {
			s.log.Warn("default domain not created", "app", updated.Name, "err", err)
		}
		s.apiLog(r.Context(), updated, "Rename from %s to %s by user %s", a.Name, updated.Name, u.Email)
	}
	if updated.Maintenance != a.Maintenance {
		verb := "Disable"
		if updated.Maintenance {
			verb = "Enable"
		}
		s.apiLog(r.Context(), updated, "%s Maintenance mode by user %s", verb, u.Email)
		s.converge(r.Context(), a.ID)
	}
	s.syncRoutes(r.Context(), a.ID)
	writeJSON(w, http.StatusOK, s.renderApp(r.Context(), updated))
}

func (s *Server) deleteApp(w http.ResponseWriter, r *http.Request) {
	a, ok := s.ownedApp(w, r, "delete it")
	if !ok {
		return
	}
	out := s.renderApp(r.Context(), a)
	addons, err := s.st.ListAddons(r.Context(), a.ID)
	if err != nil {
		s.fail(w, err)
		return
	}
	// Attachments of this app's add-ons to other apps: their config vars
	// go when the add-on goes.
	var elsewhere []core.AddonAttachment
	for _, ad := range addons {
		if err := s.opts.Addons.Deprovision(r.Context(), a, ad); err != nil {
			s.fail(w, fmt.Errorf("deprovision add-on %s: %w", ad.Name, err))
			return
		}
		ats, err := s.st.ListAttachments(r.Context(), store.AttachmentFilter{AddonID: ad.ID})
		if err != nil {
			s.fail(w, err)
			return
		}
		for _, at := range ats {
			if at.AppID != a.ID {
				elsewhere = append(elsewhere, at)
			}
		}
	}
	if _, err := s.st.DeleteApp(r.Context(), a.ID); err != nil {
		s.fail(w, err)
		return
	}
	for _, at := range elsewhere {
		i := slices.IndexFunc(addons, func(ad core.Addon) bool { return ad.ID == at.AddonID })
		if err := s.detach(r.Context(), user(r), at, addons[i]); err != nil {
			s.log.Warn("detach after app delete", "app", at.AppID, "err", err)
		}
	}
	s.converge(r.Context(), a.ID)
	s.syncRoutes(r.Context(), a.ID)
	s.syncDrains(r.Context(), a.ID)
	writeJSON(w, http.StatusOK, out)
}

// notFoundPipeline answers GET /apps/{app}/pipeline-couplings: paasd has no
// pipelines, so no app is coupled to one (Heroku answers 404 then too).
func (s *Server) notFoundPipeline(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.app(w, r); ok {
		writeError(w, http.StatusNotFound, "not_found", "Couldn't find that pipeline coupling.")
	}
}

// ---- config vars ----

func (s *Server) getConfigVars(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	rel, err := s.st.CurrentRelease(r.Context(), a.ID)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, nonNilMap(rel.Config))
}

func (s *Server) getReleaseConfigVars(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	rel, err := s.st.GetRelease(r.Context(), a.ID, r.PathValue("release"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, nonNilMap(rel.Config))
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// ValidateConfigVarName reports whether name may be a config var name: not
// empty, no "=", no NUL, at most 255 bytes.
func ValidateConfigVarName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("config var name is empty: %w", core.ErrInvalid)
	case len(name) > 255:
		return fmt.Errorf("config var name %.20q… is longer than 255 bytes: %w", name, core.ErrInvalid)
	case strings.ContainsAny(name, "=\x00"):
		return fmt.Errorf("config var name %q contains \"=\" or NUL: %w", name, core.ErrInvalid)
	}
	return nil
}

func (s *Server) patchConfigVars(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	var raw map[string]json.RawMessage
	if !s.decode(w, r, &raw) {
		return
	}
	changes := make(map[string]*string, len(raw))
	for k, rv := range raw {
		if string(rv) == "null" {
			changes[k] = nil
			continue
		}
		var v string
		if err := json.Unmarshal(rv, &v); err != nil {
			s.fail(w, fmt.Errorf("%s must be a string, or null to unset it, not %s: %w", k, rv, core.ErrInvalid))
			return
		}
		changes[k] = &v
	}
	var set, unset []string
	for k, v := range changes {
		if err := ValidateConfigVarName(k); err != nil {
			s.fail(w, err)
			return
		}
		if v != nil && strings.ContainsRune(*v, 0) {
			s.fail(w, fmt.Errorf("value of %s contains NUL: %w", k, core.ErrInvalid))
			return
		}
		if v == nil {
			unset = append(unset, k)
		} else {
			set = append(set, k)
		}
	}
	if len(changes) == 0 {
		s.getConfigVars(w, r)
		return
	}
	slices.Sort(set)
	slices.Sort(unset)
	var desc string
	switch {
	case len(unset) == 0:
		desc = fmt.Sprintf("Set %s config vars", strings.Join(set, ", "))
	case len(set) == 0:
		desc = fmt.Sprintf("Remove %s config vars", strings.Join(unset, ", "))
	default:
		desc = fmt.Sprintf("Set %s and remove %s config vars", strings.Join(set, ", "), strings.Join(unset, ", "))
	}
	u := user(r)
	rel, err := s.st.UpdateConfig(r.Context(), a.ID, changes, core.Release{Description: desc, UserID: u.ID, UserEmail: u.Email})
	if err != nil {
		s.fail(w, err)
		return
	}
	s.apiLog(r.Context(), a, "%s by user %s", desc, u.Email)
	s.apiLog(r.Context(), a, "Release v%d created by user %s", rel.Version, u.Email)
	s.converge(r.Context(), a.ID)
	writeJSON(w, http.StatusOK, nonNilMap(rel.Config))
}

// ---- releases ----

var releaseFields = map[string]sortKey[core.Release]{
	"id":      byString(func(r core.Release) string { return r.ID }),
	"version": byNumber(func(r core.Release) int { return r.Version }),
}

func (s *Server) listReleases(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	rels, err := s.st.ListReleases(r.Context(), a.ID)
	if err != nil {
		s.fail(w, err)
		return
	}
	paginate(w, r, rels, "version", releaseFields, func(rel core.Release) any { return renderRelease(a, rel) })
}

func (s *Server) getRelease(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	rel, err := s.st.GetRelease(r.Context(), a.ID, r.PathValue("release"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, renderRelease(a, rel))
}

// createRelease is POST /apps/{app}/releases: {"slug": id} deploys a slug
// with the current config; {"release": id} rolls back to an old release.
func (s *Server) createRelease(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	var req struct {
		Slug        string `json:"slug"`
		Release     string `json:"release"`
		Description string `json:"description"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	u := user(r)
	ctx := r.Context()
	var rel core.Release
	var err error
	switch {
	case req.Release != "" && req.Slug != "":
		s.fail(w, fmt.Errorf("give either slug or release, not both: %w", core.ErrInvalid))
		return
	case req.Release != "":
		old, gerr := s.st.GetRelease(ctx, a.ID, req.Release)
		if gerr != nil {
			s.fail(w, gerr)
			return
		}
		if old.Status == core.ReleaseFailed {
			s.fail(w, fmt.Errorf("release v%d failed and cannot be rolled back to: %w", old.Version, core.ErrInvalid))
			return
		}
		desc := req.Description
		if desc == "" {
			desc = fmt.Sprintf("Rollback to v%d", old.Version)
		}
		rel, err = s.st.AppendRelease(ctx, a.ID, core.Release{SlugID: old.SlugID, Config: old.Config, Addons: old.Addons,
			Description: desc, UserID: u.ID, UserEmail: u.Email})
		if err == nil {
			s.apiLog(ctx, a, "Rollback to v%d by user %s", old.Version, u.Email)
		}
	case req.Slug != "":
		slug, gerr := s.st.GetSlug(ctx, a.ID, req.Slug)
		if gerr != nil {
			s.fail(w, gerr)
			return
		}
		desc := req.Description
		if desc == "" {
			desc = "Deploy " + shortCommit(slug)
		}
		rel, err = s.st.UpdateConfig(ctx, a.ID, nil, core.Release{SlugID: slug.ID, Description: desc, UserID: u.ID, UserEmail: u.Email})
		if err == nil {
			s.apiLog(ctx, a, "%s by user %s", desc, u.Email)
		}
	default:
		s.fail(w, fmt.Errorf("slug is required (or release, to roll back): %w", core.ErrInvalid))
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	if rel.SlugID != "" {
		if slug, err := s.st.GetSlug(ctx, a.ID, rel.SlugID); err == nil {
			if err := EnsureFormation(ctx, s.st, a.ID, slug); err != nil {
				s.fail(w, err)
				return
			}
		}
	}
	s.apiLog(ctx, a, "Release v%d created by user %s", rel.Version, u.Email)
	s.converge(ctx, a.ID)
	writeJSON(w, http.StatusCreated, renderRelease(a, rel))
}

func shortCommit(sl core.Slug) string {
	if len(sl.Commit) >= 8 {
		return sl.Commit[:8]
	}
	if sl.Commit != "" {
		return sl.Commit
	}
	return sl.ID[:8]
}

// flexInt accepts a JSON number or a numeric string (the Heroku CLI sends
// "quantity": "2").
type flexInt struct {
	set bool
	n   int
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		var s string
		if json.Unmarshal(b, &s) != nil {
			return &json.UnmarshalTypeError{Value: string(b), Type: reflectInt}
		}
		n = json.Number(strings.TrimSpace(s))
	}
	v, err := strconv.Atoi(string(n))
	if err != nil {
		return &json.UnmarshalTypeError{Value: "number " + string(n), Type: reflectInt}
	}
	f.set, f.n = true, v
	return nil
}

var reflectInt = reflect.TypeFor[int]()
