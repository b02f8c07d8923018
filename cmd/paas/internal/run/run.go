// Package run is `paas run` (a one-off dyno attached to the terminal over
// the paasd-attach protocol of package core/attach) and `run:detached`.
package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/cli"
	"github.com/paasd/paasd/cmd/paas/internal/ps"
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/attach"
)

// Commands returns the run commands.
func Commands(e *cli.Env) []*cobra.Command {
	return []*cobra.Command{attached(e), detached(e)}
}

// ParseEnv parses --env "KEY=v;KEY2=v2".
func ParseEnv(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for part := range strings.SplitSeq(s, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, cli.Usagef("--env %q: %q is not KEY=value (separate pairs with ;)", s, part)
		}
		out[k] = v
	}
	return out, nil
}

type runFlags struct {
	af      cli.AppFlags
	size    string
	typ     string
	env     string
	noTTY   bool
	exitArg bool
	jsonOut bool
}

func (f *runFlags) register(e *cli.Env, cmd *cobra.Command) {
	f.af.Register(e, cmd)
	cmd.Flags().StringVarP(&f.size, "size", "s", "", "dyno size")
	cmd.Flags().StringVar(&f.typ, "type", "", "process type of the one-off dyno (default run)")
	cmd.Flags().StringVarP(&f.env, "env", "e", "", "environment variables for the dyno, \"KEY=value;KEY2=value2\"")
	// paas's flags are picked out by SplitArgs; the rest is the command.
	cmd.DisableFlagParsing = true
}

func start(e *cli.Env, f *runFlags, args []string, attachTTY bool, env map[string]string) (string, *apiclient.Client, apiclient.Dyno, json.RawMessage, error) {
	var d apiclient.Dyno
	if len(args) == 0 {
		return "", nil, d, nil, cli.Usagef("Usage: paas run COMMAND\nExample: paas run bash")
	}
	extra, err := ParseEnv(f.env)
	if err != nil {
		return "", nil, d, nil, err
	}
	for k, v := range extra {
		env[k] = v
	}
	app, err := e.App(f.af)
	if err != nil {
		return "", nil, d, nil, err
	}
	c, err := e.Client()
	if err != nil {
		return "", nil, d, nil, err
	}
	command := strings.Join(args, " ")
	body := map[string]any{"command": command, "attach": attachTTY, "env": env}
	if f.size != "" {
		body["size"] = f.size
	}
	if f.typ != "" {
		body["type"] = f.typ
	}
	var raw json.RawMessage
	err = e.ActionStatus("Running `"+command+"` on "+cli.Hexagon+" "+app, func() (string, error) {
		if err := c.Do(e.Ctxt(), http.MethodPost, "/apps/"+apiclient.Escape(app)+"/dynos", body, &raw); err != nil {
			return "", err
		}
		if err := cli.Decode(raw, &d); err != nil {
			return "", err
		}
		state := d.State
		if !attachTTY || state == "" {
			state = "done"
		}
		return fmt.Sprintf("%s, %s (%s)", state, d.Name, ps.SizeName(d.Size)), nil
	})
	return app, c, d, raw, err
}

// AttachURL is where the CLI attaches to dyno d: the API's attach_url when
// it is an HTTP URL, else the paasd-attach endpoint under the API.
func AttachURL(apiURL, app string, d apiclient.Dyno) string {
	if d.AttachURL != nil && (strings.HasPrefix(*d.AttachURL, "http://") || strings.HasPrefix(*d.AttachURL, "https://")) {
		return *d.AttachURL
	}
	name := d.Name
	if name == "" {
		name = d.ID
	}
	return strings.TrimSuffix(apiURL, "/") + "/apps/" + apiclient.Escape(app) + "/dynos/" + apiclient.Escape(name) + "/attach"
}

func fd(v any) (int, bool) {
	f, ok := v.(interface{ Fd() uintptr })
	if !ok {
		return 0, false
	}
	return int(f.Fd()), true
}

func attached(e *cli.Env) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run COMMAND...",
		Short: "run a one-off process inside a dyno, attached to your terminal",
		Long:  "Run a one-off dyno and attach to it: your terminal becomes the dyno's (raw mode, window size followed, Ctrl-C goes to the dyno), and paas exits with the dyno's exit code.",
		RunE: func(cmd *cobra.Command, args []string) error {
			args, help, err := parseRunFlags(cmd, args)
			if err != nil || help {
				if help {
					return cmd.Help()
				}
				return err
			}
			inFD, inOK := fd(e.In)
			outFD, outOK := fd(e.Out)
			tty := !f.noTTY && inOK && term.IsTerminal(inFD)
			env := map[string]string{}
			var size core.TermSize
			if outOK && term.IsTerminal(outFD) {
				if w, h, err := term.GetSize(outFD); err == nil {
					size = core.TermSize{Rows: uint16(h), Cols: uint16(w)}
					env["COLUMNS"], env["LINES"] = fmt.Sprint(w), fmt.Sprint(h)
				}
			}
			if t := e.Env("TERM"); t != "" {
				env["TERM"] = t
			}
			app, c, d, _, err := start(e, f, args, true, env)
			if err != nil {
				return err
			}
			hdr := http.Header{}
			c.Authorize(hdr)
			conn, err := attach.Dial(e.Ctxt(), nil, AttachURL(c.BaseURL, app, d), hdr, size)
			if err != nil {
				var he *attach.HTTPError
				if errors.As(err, &he) && he.Message != "" {
					return fmt.Errorf("cannot attach to %s: %s", d.Name, he.Message)
				}
				return fmt.Errorf("cannot attach to %s: %w", d.Name, err)
			}
			resize := make(chan core.TermSize, 1)
			stdin := e.In
			if tty {
				old, err := term.MakeRaw(inFD)
				if err != nil {
					conn.Close()
					return fmt.Errorf("terminal raw mode: %w", err)
				}
				defer term.Restore(inFD, old)
				if outOK {
					winch := make(chan os.Signal, 1)
					signal.Notify(winch, syscall.SIGWINCH)
					defer signal.Stop(winch)
					go func() {
						for range winch {
							if w, h, err := term.GetSize(outFD); err == nil {
								select {
								case resize <- core.TermSize{Rows: uint16(h), Cols: uint16(w)}:
								default:
								}
							}
						}
					}()
				}
			} else {
				// Without a terminal, Ctrl-C arrives as SIGINT: pass it on as
				// the byte a terminal would have sent.
				pr, pw := io.Pipe()
				go func() { _, err := io.Copy(pw, e.In); pw.CloseWithError(err) }()
				sigint := make(chan os.Signal, 1)
				signal.Notify(sigint, os.Interrupt)
				defer signal.Stop(sigint)
				go func() {
					for range sigint {
						pw.Write([]byte{3})
					}
				}()
				stdin = pr
			}
			code, err := conn.Run(e.Ctxt(), stdin, e.Out, resize)
			if tty {
				// Leave the cursor on a fresh line for the shell prompt.
				defer fmt.Fprint(e.Err, "\r")
			}
			if err != nil {
				var re *attach.RemoteError
				if errors.As(err, &re) {
					return fmt.Errorf("%s: %s", d.Name, re.Message)
				}
				return err
			}
			if code != 0 {
				return &cli.ExitError{Code: code}
			}
			return nil
		},
	}
	f.register(e, cmd)
	cmd.Flags().BoolVar(&f.noTTY, "no-tty", false, "do not put the terminal in raw mode")
	cmd.Flags().BoolVarP(&f.exitArg, "exit-code", "x", false, "pass the dyno's exit code on (always on; for compatibility)")
	return cmd
}

func detached(e *cli.Env) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run:detached COMMAND...",
		Short: "run a one-off dyno in the background",
		RunE: func(cmd *cobra.Command, args []string) error {
			args, help, err := parseRunFlags(cmd, args)
			if err != nil || help {
				if help {
					return cmd.Help()
				}
				return err
			}
			app, _, d, raw, err := start(e, f, args, false, map[string]string{})
			if err != nil {
				return err
			}
			if f.jsonOut {
				return e.JSON(raw)
			}
			e.Printf("Run paas logs --app %s --dyno %s to view the output.\n", app, d.Name)
			return nil
		},
	}
	f.register(e, cmd)
	cli.JSONFlag(cmd, &f.jsonOut)
	return cmd
}
