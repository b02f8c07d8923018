// Package logs is `paas logs`: it opens a log session
// (POST /apps/{app}/log-sessions) and streams its logplex_url.
package logs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/cli"
)

// Commands returns the logs command.
func Commands(e *cli.Env) []*cobra.Command {
	return []*cobra.Command{logsCmd(e)}
}

// MaxLine bounds one log line (Logplex's maximum message is 10,240 bytes;
// the margin covers the timestamp and source).
const MaxLine = 64 << 10

// Stream copies a log session's body to fn, one line at a time. A
// text/event-stream body (what paasd and Logplex's SSE mode send) yields
// the data of each event; any other body yields its lines. Lines longer
// than MaxLine are an error.
func Stream(body io.Reader, contentType string, fn func(line string) error) error {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 4096), MaxLine)
	sse := strings.HasPrefix(strings.TrimSpace(strings.ToLower(contentType)), "text/event-stream")
	var data []string
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if !sse {
			if err := fn(line); err != nil {
				return err
			}
			continue
		}
		switch {
		case line == "":
			// A blank line ends an event.
			if data != nil {
				if err := fn(strings.Join(data, "\n")); err != nil {
					return err
				}
				data = nil
			}
		case strings.HasPrefix(line, ":"):
			// A comment (keep-alive).
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			if field == "data" {
				data = append(data, value)
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("a log line is longer than %d bytes: %w", MaxLine, err)
		}
		return err
	}
	if data != nil {
		return fn(strings.Join(data, "\n"))
	}
	return nil
}

// Request is the log-session request body.
type Request struct {
	Dyno   string `json:"dyno,omitempty"`
	Lines  int    `json:"lines,omitempty"`
	Source string `json:"source,omitempty"`
	Tail   bool   `json:"tail,omitempty"`
}

// Fetch opens a log session for app and streams it to fn until it ends or
// ctx does.
func Fetch(ctx context.Context, c *apiclient.Client, app string, req Request, fn func(string) error) error {
	var sess apiclient.LogSession
	if err := c.Do(ctx, http.MethodPost, "/apps/"+apiclient.Escape(app)+"/log-sessions", req, &sess); err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, sess.LogplexURL, nil)
	if err != nil {
		return fmt.Errorf("log session URL %q: %w", sess.LogplexURL, err)
	}
	hr.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		return fmt.Errorf("cannot reach the log session: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		return fmt.Errorf("log session: HTTP %d: %s", res.StatusCode, strings.TrimSpace(string(b)))
	}
	err = Stream(res.Body, res.Header.Get("Content-Type"), fn)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func logsCmd(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var req Request
	var ps string
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "display recent log output",
		Long:  "Display the app's recent log lines (up to 1,500), or follow them with --tail.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.Lines < 1 || req.Lines > 1500 {
				return cli.Usagef("--num must be between 1 and 1500, not %d", req.Lines)
			}
			if ps != "" {
				if req.Dyno != "" && req.Dyno != ps {
					return cli.Usagef("give --dyno or --ps, not both")
				}
				req.Dyno = ps
			}
			if req.Source != "" && req.Source != "app" && req.Source != "heroku" {
				return cli.Usagef("--source must be app or heroku, not %q", req.Source)
			}
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			return Fetch(e.Ctxt(), c, app, req, func(line string) error {
				_, err := fmt.Fprintln(e.Out, line)
				return err
			})
		},
	}
	af.Register(e, cmd)
	cmd.Flags().BoolVarP(&req.Tail, "tail", "t", false, "continually stream logs")
	cmd.Flags().IntVarP(&req.Lines, "num", "n", 100, "number of lines to display")
	cmd.Flags().StringVarP(&req.Dyno, "dyno", "d", "", "only show output from this dyno type or name (web, web.1)")
	cmd.Flags().StringVarP(&ps, "ps", "p", "", "same as --dyno")
	cmd.Flags().StringVarP(&req.Source, "source", "s", "", "only show output from this source (app or heroku)")
	return cmd
}
