package api

import (
	"fmt"
	"net/http"

	"github.com/paasd/paasd/core"
)

// ACM is Automated Certificate Management as the API sees it
// (core/acme.Manager): each managed domain's status, and a retry.
type ACM interface {
	// DomainStatus is a managed hostname's acm_status ("cert issued",
	// "pending", "failed") and acm_status_reason; false if not managed.
	DomainStatus(hostname string) (status, reason string, ok bool)
	// Refresh retries issuance now for the app's domains without a
	// certificate.
	Refresh(appID string)
}

// ACM routes: Heroku's app "enable-acm", "disable-acm" and "refresh-acm"
// links, each answering with the app.
func (s *Server) acmRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /apps/{app}/acm", func(w http.ResponseWriter, r *http.Request) { s.setACM(w, r, true) })
	m.HandleFunc("DELETE /apps/{app}/acm", func(w http.ResponseWriter, r *http.Request) { s.setACM(w, r, false) })
	m.HandleFunc("PATCH /apps/{app}/acm/refresh", s.refreshACM)
}

func (s *Server) setACM(w http.ResponseWriter, r *http.Request, on bool) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	if on && s.opts.ACM == nil {
		s.fail(w, fmt.Errorf("automated certificate management is not available: the router does not answer ACME challenges: %w", core.ErrUnsupported))
		return
	}
	a, err := s.st.UpdateApp(r.Context(), a.ID, func(app *core.App) error {
		app.ACM = on
		return nil
	})
	if err != nil {
		s.fail(w, err)
		return
	}
	verb := "Disable"
	if on {
		verb = "Enable"
	}
	s.apiLog(r.Context(), a, "%s Automated Certificate Management by user %s", verb, user(r).Email)
	s.syncRoutes(r.Context(), a.ID)
	writeJSON(w, http.StatusOK, s.renderApp(r.Context(), a))
}

func (s *Server) refreshACM(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	if !a.ACM {
		s.fail(w, fmt.Errorf("automated certificate management is not enabled on %s: %w", a.Name, core.ErrInvalid))
		return
	}
	if s.opts.ACM != nil {
		s.opts.ACM.Refresh(a.ID)
	}
	writeJSON(w, http.StatusOK, s.renderApp(r.Context(), a))
}

// domainJSON renders d with its ACM status when the app has ACM on.
func (s *Server) domainJSON(a core.App, d core.Domain, eps []core.SNIEndpoint) DomainJSON {
	out := renderDomain(a, d, s.hostname(a.Name), eps)
	if a.ACM && s.opts.ACM != nil && d.Kind == "custom" {
		if st, reason, ok := s.opts.ACM.DomainStatus(d.Hostname); ok {
			out.ACMStatus = &st
			if reason != "" {
				out.ACMStatusReason = &reason
			}
		}
	}
	return out
}
