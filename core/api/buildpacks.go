package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/paasd/paasd/core"
)

// MaxBuildpacks is how many buildpacks an app's list may hold (Heroku's
// limit is 6 for most apps; paasd allows a few more).
const MaxBuildpacks = 8

// BuildpackInstallationJSON is one entry of an app's buildpack list as
// Heroku renders it.
type BuildpackInstallationJSON struct {
	Buildpack struct {
		URL  string `json:"url"`
		Name string `json:"name"`
	} `json:"buildpack"`
	Ordinal int `json:"ordinal"`
}

func (s *Server) renderBuildpacks(ctx context.Context, refs []string) []BuildpackInstallationJSON {
	out := make([]BuildpackInstallationJSON, len(refs))
	for i, ref := range refs {
		name, err := s.opts.Buildpacks.CheckBuildpack(ctx, ref)
		if err != nil || name == "" {
			name = ref
		}
		out[i].Buildpack.URL, out[i].Buildpack.Name, out[i].Ordinal = ref, name, i
	}
	return out
}

// listBuildpackInstallations answers GET /apps/{app}/buildpack-installations:
// the app's explicit buildpack list in order (empty: detection).
func (s *Server) listBuildpackInstallations(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.renderBuildpacks(r.Context(), a.Buildpacks))
}

// CheckBuildpackList returns an error wrapping core.ErrInvalid unless refs is
// a valid buildpack list: at most [MaxBuildpacks] non-empty references
// without spaces, none twice.
func CheckBuildpackList(refs []string) error {
	if len(refs) > MaxBuildpacks {
		return fmt.Errorf("an app may have at most %d buildpacks, not %d: %w", MaxBuildpacks, len(refs), core.ErrInvalid)
	}
	seen := map[string]bool{}
	for i, ref := range refs {
		switch {
		case ref == "":
			return fmt.Errorf("updates[%d].buildpack is empty (the Heroku CLI sends none for a NAMESPACE/NAME this paasd does not have): %w", i, core.ErrInvalid)
		case len(ref) > 2048:
			return fmt.Errorf("updates[%d].buildpack is longer than 2048 bytes: %w", i, core.ErrInvalid)
		case strings.ContainsFunc(ref, func(r rune) bool { return r <= ' ' || r == 0x7f }):
			return fmt.Errorf("updates[%d].buildpack %q contains spaces or control characters: %w", i, ref, core.ErrInvalid)
		case seen[ref]:
			return fmt.Errorf("buildpack %s is listed twice: %w", ref, core.ErrInvalid)
		}
		seen[ref] = true
	}
	return nil
}

// updateBuildpackInstallations answers PUT
// /apps/{app}/buildpack-installations: {"updates":[{"buildpack":REF},…]}
// replaces the app's list (an empty list clears it, so builds detect).
func (s *Server) updateBuildpackInstallations(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	var req struct {
		Updates []struct {
			Buildpack string `json:"buildpack"`
		} `json:"updates"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	refs := make([]string, 0, len(req.Updates))
	for _, u := range req.Updates {
		refs = append(refs, strings.TrimSpace(u.Buildpack))
	}
	if err := CheckBuildpackList(refs); err != nil {
		s.fail(w, err)
		return
	}
	for _, ref := range refs {
		if _, err := s.opts.Buildpacks.CheckBuildpack(r.Context(), ref); err != nil {
			s.fail(w, err)
			return
		}
	}
	updated, err := s.st.UpdateApp(r.Context(), a.ID, func(x *core.App) error {
		x.Buildpacks = refs
		if len(refs) == 0 {
			x.Buildpacks = nil
		}
		return nil
	})
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.renderBuildpacks(r.Context(), updated.Buildpacks))
}

// BuildpackRegistryPattern is where the daemon mounts [BuildpackRegistry]
// (no token needed, as on Heroku's registry); point the Heroku CLI at it
// with HEROKU_BUILDPACK_REGISTRY_URL=<paasd URL>/buildpack-registry.
const BuildpackRegistryPattern = "GET /buildpack-registry/buildpacks/{buildpack}"

// BuildpackRegistry serves the one call of Heroku's buildpack registry the
// Heroku CLI makes before `buildpacks:set NAMESPACE/NAME` (GET
// /buildpacks/{namespace%2Fname}): 200 with {"blob_url": NAME, …} for a
// buildpack c knows, so the CLI installs it by its short name; 404
// otherwise. Mount it at [BuildpackRegistryPattern].
func BuildpackRegistry(c BuildpackChecker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ref := r.PathValue("buildpack")
		ns, name, ok := strings.Cut(ref, "/")
		if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
			writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("Buildpack %q is not NAMESPACE/NAME.", ref))
			return
		}
		canonical, err := c.CheckBuildpack(r.Context(), ref)
		if err != nil {
			writeError(w, http.StatusNotFound, "not_found", message(err))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"id": canonical, "namespace": ns, "name": name, "blob_url": canonical,
			"description": "installed on this paasd",
		})
	})
}
