package api

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/tlscert"
)

// ---- SNI endpoints ----

// SSLCertJSON is an SNI endpoint's ssl_cert: what the certificate says.
type SSLCertJSON struct {
	CASigned    bool     `json:"ca_signed?"`
	CertDomains []string `json:"cert_domains"`
	ExpiresAt   Time     `json:"expires_at"`
	Issuer      string   `json:"issuer"`
	SelfSigned  bool     `json:"self_signed?"`
	StartsAt    Time     `json:"starts_at"`
	Subject     string   `json:"subject"`
	ID          string   `json:"id"`
}

// SNIEndpointJSON is the sni-endpoint resource. The private key is never
// rendered.
type SNIEndpointJSON struct {
	App              appRef      `json:"app"`
	CertificateChain string      `json:"certificate_chain"`
	CreatedAt        Time        `json:"created_at"`
	DisplayName      *string     `json:"display_name"`
	Domains          []string    `json:"domains"`
	ID               string      `json:"id"`
	Name             string      `json:"name"`
	SSLCert          SSLCertJSON `json:"ssl_cert"`
	UpdatedAt        Time        `json:"updated_at"`
}

func renderSNIEndpoint(a core.App, e core.SNIEndpoint, domains []core.Domain) SNIEndpointJSON {
	out := SNIEndpointJSON{App: refOf(a), CertificateChain: e.CertificateChain, CreatedAt: Time(e.CreatedAt),
		Domains: []string{}, ID: e.ID, Name: e.Name, UpdatedAt: Time(e.UpdatedAt)}
	for _, d := range domains {
		if d.SNIEndpointID == e.ID {
			out.Domains = append(out.Domains, d.ID)
		}
	}
	out.SSLCert.ID = e.ID
	out.SSLCert.CertDomains = []string{}
	// The stored pair was checked on upload; an expired one still renders.
	if c, err := tlscert.Parse([]byte(e.CertificateChain), []byte(e.PrivateKey), time.Now()); err == nil {
		out.SSLCert = sslCert(e.ID, c)
	} else if c, err := tlscert.Parse([]byte(e.CertificateChain), []byte(e.PrivateKey), e.UpdatedAt); err == nil {
		out.SSLCert = sslCert(e.ID, c)
	}
	return out
}

func sslCert(id string, c *tlscert.Cert) SSLCertJSON {
	return SSLCertJSON{CASigned: !c.SelfSigned, CertDomains: c.Names, ExpiresAt: Time(c.NotAfter), Issuer: c.Issuer,
		SelfSigned: c.SelfSigned, StartsAt: Time(c.NotBefore), Subject: c.Subject, ID: id}
}

var endpointWords = []string{"akita", "hokkaido", "kyoto", "nara", "okinawa", "osaka", "sapporo", "sendai", "shikoku", "tokyo", "yokohama", "kobe"}

// endpointName is a Heroku-style SNI endpoint name ("tokyo-12345").
func endpointName() string {
	w, _ := rand.Int(rand.Reader, big.NewInt(int64(len(endpointWords))))
	n, _ := rand.Int(rand.Reader, big.NewInt(90000))
	return fmt.Sprintf("%s-%d", endpointWords[w.Int64()], 10000+n.Int64())
}

// sniEndpointFields sort SNI endpoint lists.
var sniEndpointFields = map[string]sortKey[core.SNIEndpoint]{
	"id":   byString(func(e core.SNIEndpoint) string { return e.ID }),
	"name": byString(func(e core.SNIEndpoint) string { return e.Name }),
}

func (s *Server) listSNIEndpoints(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	es, err := s.st.ListSNIEndpoints(r.Context(), a.ID)
	if err != nil {
		s.fail(w, err)
		return
	}
	ds, _ := s.st.ListDomains(r.Context(), a.ID)
	paginate(w, r, es, "id", sniEndpointFields, func(e core.SNIEndpoint) any { return renderSNIEndpoint(a, e, ds) })
}

// sniRequest is the body of POST and PATCH /apps/{app}/sni-endpoints.
type sniRequest struct {
	CertificateChain *string `json:"certificate_chain"`
	PrivateKey       *string `json:"private_key"`
}

// decodeSNIRequest reads a create or update body: both fields are
// required and must be a valid certificate chain and its key. On failure it
// has answered the request.
func (s *Server) decodeSNIRequest(w http.ResponseWriter, r *http.Request) (sniRequest, bool) {
	var req sniRequest
	if !s.decode(w, r, &req) {
		return req, false
	}
	if req.CertificateChain == nil || req.PrivateKey == nil {
		s.fail(w, fmt.Errorf("certificate_chain and private_key are required: %w", core.ErrInvalid))
		return req, false
	}
	if _, err := tlscert.Parse([]byte(*req.CertificateChain), []byte(*req.PrivateKey), time.Now()); err != nil {
		s.fail(w, err)
		return req, false
	}
	return req, true
}

func (s *Server) createSNIEndpoint(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	req, ok := s.decodeSNIRequest(w, r)
	if !ok {
		return
	}
	var e core.SNIEndpoint
	var err error
	for range 5 {
		e, err = s.st.CreateSNIEndpoint(r.Context(), core.SNIEndpoint{AppID: a.ID, Name: endpointName(),
			CertificateChain: *req.CertificateChain, PrivateKey: *req.PrivateKey})
		if !errors.Is(err, core.ErrConflict) {
			break
		}
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	s.apiLog(r.Context(), a, "Add SNI endpoint %s by user %s", e.Name, user(r).Email)
	s.syncRoutes(r.Context(), a.ID)
	writeJSON(w, http.StatusCreated, renderSNIEndpoint(a, e, nil))
}

func (s *Server) getSNIEndpoint(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	e, err := s.st.GetSNIEndpoint(r.Context(), a.ID, r.PathValue("endpoint"))
	if err != nil {
		s.fail(w, err)
		return
	}
	ds, _ := s.st.ListDomains(r.Context(), a.ID)
	writeJSON(w, http.StatusOK, renderSNIEndpoint(a, e, ds))
}

func (s *Server) updateSNIEndpoint(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	req, ok := s.decodeSNIRequest(w, r)
	if !ok {
		return
	}
	e, err := s.st.UpdateSNIEndpoint(r.Context(), a.ID, r.PathValue("endpoint"), func(e *core.SNIEndpoint) error {
		e.CertificateChain, e.PrivateKey = *req.CertificateChain, *req.PrivateKey
		return nil
	})
	if err != nil {
		s.fail(w, err)
		return
	}
	s.apiLog(r.Context(), a, "Update SNI endpoint %s by user %s", e.Name, user(r).Email)
	s.syncRoutes(r.Context(), a.ID)
	ds, _ := s.st.ListDomains(r.Context(), a.ID)
	writeJSON(w, http.StatusOK, renderSNIEndpoint(a, e, ds))
}

func (s *Server) deleteSNIEndpoint(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	ds, _ := s.st.ListDomains(r.Context(), a.ID)
	e, err := s.st.DeleteSNIEndpoint(r.Context(), a.ID, r.PathValue("endpoint"))
	if err != nil {
		s.fail(w, err)
		return
	}
	s.apiLog(r.Context(), a, "Remove SNI endpoint %s by user %s", e.Name, user(r).Email)
	s.syncRoutes(r.Context(), a.ID)
	writeJSON(w, http.StatusOK, renderSNIEndpoint(a, e, ds))
}

// ---- app features ----

// AppFeature is an app feature paasd knows (Heroku's app-feature).
type AppFeature struct {
	Name        string
	Description string
	// Excludes names features that enabling this one disables.
	Excludes []string
}

// Router app features: they pick the app's load-balancing algorithm
// (random when neither is enabled).
const (
	FeatureRouterLeastConnections = "router-least-connections"
	FeatureRouterPowerOfTwo       = "router-power-of-two"
)

// AppFeatures are the app features paasd offers.
var AppFeatures = []AppFeature{
	{Name: FeatureRouterLeastConnections, Excludes: []string{FeatureRouterPowerOfTwo},
		Description: "Route each request to the web dyno with the fewest requests in flight, instead of a random one."},
	{Name: FeatureRouterPowerOfTwo, Excludes: []string{FeatureRouterLeastConnections},
		Description: "Route each request to the less busy of two web dynos picked at random (power of two choices)."},
}

// AppFeatureJSON is the app-feature resource.
type AppFeatureJSON struct {
	CreatedAt     Time   `json:"created_at"`
	Description   string `json:"description"`
	DisplayName   string `json:"display_name"`
	DocURL        string `json:"doc_url"`
	Enabled       bool   `json:"enabled"`
	FeedbackEmail string `json:"feedback_email"`
	ID            string `json:"id"`
	Name          string `json:"name"`
	State         string `json:"state"`
	UpdatedAt     Time   `json:"updated_at"`
}

var featureNS = uuid.MustParse("6f1d3c2a-9a4e-4e43-8b5b-2d8c0f0e7a11")

func renderFeature(a core.App, f AppFeature) AppFeatureJSON {
	return AppFeatureJSON{CreatedAt: Time(a.CreatedAt), Description: f.Description, DisplayName: f.Name,
		DocURL: "https://github.com/paasd/paasd/blob/main/docs/router.md", Enabled: slices.Contains(a.Features, f.Name),
		ID: uuid.NewSHA1(featureNS, []byte(f.Name)).String(), Name: f.Name, State: "general", UpdatedAt: Time(a.UpdatedAt)}
}

func findFeature(idOrName string) (AppFeature, error) {
	for _, f := range AppFeatures {
		if f.Name == idOrName || uuid.NewSHA1(featureNS, []byte(f.Name)).String() == idOrName {
			return f, nil
		}
	}
	return AppFeature{}, fmt.Errorf("couldn't find that feature: %w", core.ErrNotFound)
}

// listFeatures answers GET /apps/{app}/features.
func (s *Server) listFeatures(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	out := make([]AppFeatureJSON, 0, len(AppFeatures))
	for _, f := range AppFeatures {
		out = append(out, renderFeature(a, f))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getFeature(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	f, err := findFeature(r.PathValue("feature"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, renderFeature(a, f))
}

func (s *Server) updateFeature(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	f, err := findFeature(r.PathValue("feature"))
	if err != nil {
		s.fail(w, err)
		return
	}
	var req struct {
		Enabled *bool `json:"enabled"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	if req.Enabled == nil {
		s.fail(w, fmt.Errorf("enabled is required: %w", core.ErrInvalid))
		return
	}
	a, err = s.st.UpdateApp(r.Context(), a.ID, func(app *core.App) error {
		app.Features = slices.DeleteFunc(app.Features, func(n string) bool { return n == f.Name || slices.Contains(f.Excludes, n) })
		if *req.Enabled {
			app.Features = append(app.Features, f.Name)
			slices.Sort(app.Features)
		}
		return nil
	})
	if err != nil {
		s.fail(w, err)
		return
	}
	verb := "Disable"
	if *req.Enabled {
		verb = "Enable"
	}
	s.apiLog(r.Context(), a, "%s %s feature by user %s", verb, f.Name, user(r).Email)
	s.syncRoutes(r.Context(), a.ID)
	writeJSON(w, http.StatusOK, renderFeature(a, f))
}
