// Package apiclient is the paas CLI's client for a Heroku Platform API v3
// compatible server (paasd): versioned Accept header, Bearer token, Range
// pagination and {"id","message"} errors.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Accept is the media type every request asks for.
const Accept = "application/vnd.heroku+json; version=3"

// Client talks to one API. The zero value is not usable: set BaseURL.
type Client struct {
	// BaseURL is the API's scheme and host ("http://127.0.0.1:5000").
	BaseURL string
	// Token is the API key sent as "Authorization: Bearer"; empty sends none.
	Token string
	// HTTP is the transport; nil means http.DefaultClient.
	HTTP *http.Client
	// UserAgent is sent as User-Agent; empty means "paas".
	UserAgent string
}

// Error is an API error response.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// ID is Heroku's error id ("not_found", "invalid_params", …).
	ID string
	// Message is the human-readable message.
	Message string
}

// Error returns the API's message.
func (e *Error) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
}

// IsNotFound reports whether err is an API 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// Escape escapes one path segment (an app or resource name).
func Escape(s string) string { return url.PathEscape(s) }

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// NewRequest builds a request with the API's headers. body, when not nil,
// is sent as JSON.
func (c *Client) NewRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+path, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", Accept)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.Authorize(req.Header)
	ua := c.UserAgent
	if ua == "" {
		ua = "paas"
	}
	req.Header.Set("User-Agent", ua)
	return req, nil
}

// Authorize sets the Authorization header for the client's token.
func (c *Client) Authorize(h http.Header) {
	if c.Token != "" {
		h.Set("Authorization", "Bearer "+c.Token)
	}
}

// Do sends a request and decodes a 2xx JSON answer into out (when not nil).
// A non-2xx answer is returned as *Error.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	_, err := c.do(ctx, method, path, body, out, "")
	return err
}

func (c *Client) do(ctx context.Context, method, path string, body, out any, rng string) (http.Header, error) {
	req, err := c.NewRequest(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	res, err := c.http().Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the API at %s (is paasd running? PAAS_API_URL selects the API): %w", c.BaseURL, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		e := &Error{Status: res.StatusCode}
		var body struct{ ID, Message string }
		if json.Unmarshal(data, &body) == nil {
			e.ID, e.Message = body.ID, body.Message
		}
		return nil, e
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("%s %s: the API's answer is not the expected JSON: %w", method, path, err)
		}
	}
	return res.Header, nil
}

// Get is Do with GET.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	return c.Do(ctx, http.MethodGet, path, nil, out)
}

// List GETs a collection, following Next-Range until the last page, and
// decodes the concatenated items into out (a pointer to a slice).
func (c *Client) List(ctx context.Context, path string, out any) error {
	var all []json.RawMessage
	rng := ""
	for page := 0; ; page++ {
		if page > 10000 {
			return fmt.Errorf("GET %s: more than 10000 pages; the API's Next-Range does not advance", path)
		}
		var items []json.RawMessage
		h, err := c.do(ctx, http.MethodGet, path, nil, &items, rng)
		if err != nil {
			return err
		}
		all = append(all, items...)
		next := h.Get("Next-Range")
		if next == "" || next == rng {
			break
		}
		rng = next
	}
	b, err := json.Marshal(all)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if all == nil {
		b = []byte("[]")
	}
	return json.Unmarshal(b, out)
}
