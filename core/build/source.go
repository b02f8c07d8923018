package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/paasd/paasd/core"
)

// FetchSource opens a build's source_blob URL (POST /apps/{app}/builds):
// an http or https URL of a tarball, read through client (nil means
// http.DefaultClient). The body is bounded by the pipeline's source limit,
// so it can go straight into Request.Source, where it is extracted safely.
// It returns an error wrapping core.ErrInvalid for a URL that is not
// http(s) or does not answer 200, naming the URL and status.
//
// # Notes
//
// The URL is the user's: paasd fetches it from the host's network, as
// Heroku fetches source_blob URLs. Operators who must keep users from
// reaching internal addresses pass a client whose transport refuses them.
func (p *Pipeline) FetchSource(ctx context.Context, client *http.Client, rawURL string) (io.ReadCloser, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("source_blob url %q: want an http or https URL: %w", rawURL, core.ErrInvalid)
	}
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("source_blob url %q: %w", rawURL, errors.Join(err, core.ErrInvalid))
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch source_blob %s: %w", u.Redacted(), errors.Join(err, core.ErrInvalid))
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("fetch source_blob %s: HTTP status %d: %w", u.Redacted(), resp.StatusCode, core.ErrInvalid)
	}
	if resp.ContentLength > p.opts.SourceMaxBytes {
		resp.Body.Close()
		return nil, fmt.Errorf("source_blob %s is %s, more than the %s limit: %w", u.Redacted(), humanSize(resp.ContentLength), humanSize(p.opts.SourceMaxBytes), core.ErrInvalid)
	}
	return &limitedBody{r: io.LimitReader(resp.Body, p.opts.SourceMaxBytes+1), c: resp.Body, max: p.opts.SourceMaxBytes}, nil
}

// limitedBody fails once more than max bytes were read.
type limitedBody struct {
	r   io.Reader
	c   io.Closer
	n   int64
	max int64
}

func (l *limitedBody) Read(b []byte) (int, error) {
	n, err := l.r.Read(b)
	l.n += int64(n)
	if l.n > l.max {
		return n, fmt.Errorf("source_blob is larger than the %s limit: %w", humanSize(l.max), core.ErrInvalid)
	}
	return n, err
}

func (l *limitedBody) Close() error { return l.c.Close() }
