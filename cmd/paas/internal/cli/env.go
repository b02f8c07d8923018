// Package cli is what every paas command shares: the invocation's streams
// and environment, the API client and credentials, how the app is chosen
// (-a/--app, -r/--remote, the git remote), and Heroku-style output (section
// headings, aligned key/value lists, tables, action lines with a spinner,
// "▸" errors, --json).
//
// # Notes
//
// There is no global state: one [Env] per invocation, built by Main, is
// handed to each noun package's Commands function.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/netrc"
)

// DefaultAPIURL is the API used when PAAS_API_URL is not set.
const DefaultAPIURL = "http://127.0.0.1:5000"

// Env is one invocation's environment.
type Env struct {
	Ctx context.Context
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// Getenv reads environment variables; nil means os.Getenv.
	Getenv func(string) string
	// Dir is the working directory (for git); empty means the process's.
	Dir string
	// IsTerminal reports whether a stream is a terminal; nil means never.
	IsTerminal func(any) bool

	// app is the app resolved by App, for suggestions.
	app string
}

// Env reads an environment variable.
func (e *Env) Env(key string) string {
	if e.Getenv == nil {
		return os.Getenv(key)
	}
	return e.Getenv(key)
}

// OutIsTTY reports whether stdout is a terminal.
func (e *Env) OutIsTTY() bool { return e.IsTerminal != nil && e.IsTerminal(e.Out) }

// APIURL is the API's base URL: $PAAS_API_URL or DefaultAPIURL.
func (e *Env) APIURL() string {
	if u := strings.TrimSpace(e.Env("PAAS_API_URL")); u != "" {
		return strings.TrimSuffix(u, "/")
	}
	return DefaultAPIURL
}

// APIHost is the host (with port) of the API URL: the netrc machine name.
func (e *Env) APIHost() (string, error) {
	u, err := url.Parse(e.APIURL())
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("PAAS_API_URL %q is not a URL like http://127.0.0.1:5000", e.APIURL())
	}
	return u.Hostname(), nil
}

// ErrNotLoggedIn is returned when no API key is known.
var ErrNotLoggedIn = errors.New("not logged in: run paas login, or set PAAS_API_KEY")

// Token returns the API key: $PAAS_API_KEY, else the password of the API
// host's ~/.netrc entry.
func (e *Env) Token() (string, error) {
	if t := strings.TrimSpace(e.Env("PAAS_API_KEY")); t != "" {
		return t, nil
	}
	host, err := e.APIHost()
	if err != nil {
		return "", err
	}
	path, err := netrc.Path(e.Env)
	if err != nil {
		return "", err
	}
	f, err := netrc.Load(path)
	if err != nil {
		return "", err
	}
	if m := f.Machine(host); m != nil && !m.Default && m.Password != "" {
		return m.Password, nil
	}
	return "", ErrNotLoggedIn
}

// Client returns an API client with the invocation's URL and token.
func (e *Env) Client() (*apiclient.Client, error) {
	tok, err := e.Token()
	if err != nil {
		return nil, err
	}
	return &apiclient.Client{BaseURL: e.APIURL(), Token: tok, UserAgent: "paas-cli"}, nil
}

// Ctxt returns the invocation's context.
func (e *Env) Ctxt() context.Context {
	if e.Ctx == nil {
		return context.Background()
	}
	return e.Ctx
}
