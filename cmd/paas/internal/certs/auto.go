package certs

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/cli"
)

func acmPath(app string) string { return "/apps/" + apiclient.Escape(app) + "/acm" }

// HumanizeACMStatus is a domain's acm_status as `certs:auto` shows it:
// "Cert issued", "Pending", "Failed"; none is "Waiting".
func HumanizeACMStatus(s *string) string {
	if s == nil || *s == "" {
		return "Waiting"
	}
	v := *s
	return strings.ToUpper(v[:1]) + v[1:]
}

// FormatAuto renders `certs:auto` for an app and its custom domains, as
// Heroku does: a heading, a table of domains and their status, and advice
// when some failed or are still pending.
func FormatAuto(app apiclient.App, domains []apiclient.Domain) string {
	var b strings.Builder
	if !app.ACM {
		b.WriteString("=== Automatic Certificate Management is disabled on " + cli.Hexagon + " " + app.Name + "\n")
		return b.String()
	}
	b.WriteString("=== Automatic Certificate Management is enabled on " + cli.Hexagon + " " + app.Name + "\n\n")
	var rows [][]string
	var failed, pending []apiclient.Domain
	for _, d := range domains {
		if d.Kind != "custom" {
			continue
		}
		rows = append(rows, []string{d.Hostname, HumanizeACMStatus(d.ACMStatus)})
		switch {
		case d.ACMStatus != nil && *d.ACMStatus == "failed":
			failed = append(failed, d)
		case d.ACMStatus == nil || *d.ACMStatus != "cert issued":
			pending = append(pending, d)
		}
	}
	if len(rows) == 0 {
		b.WriteString("No custom domains: add one with paas domains:add.\n")
		return b.String()
	}
	b.WriteString(cli.FormatTable([]string{"Domain", "Status"}, rows))
	if len(failed) > 0 {
		b.WriteString("\n=== Some domains failed validation after multiple attempts, retry by running: paas certs:auto:refresh\n")
		for _, d := range failed {
			reason := "unknown"
			if d.ACMStatusReason != nil {
				reason = *d.ACMStatusReason
			}
			b.WriteString("    " + d.Hostname + ": " + reason + "\n")
		}
	}
	if len(pending) > 0 {
		b.WriteString("\n=== Some domains are still waiting for a certificate; check that their DNS points at this router: paas domains\n")
	}
	return b.String()
}

func auto(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var wait, jsonOut bool
	cmd := &cobra.Command{
		Use:   "certs:auto",
		Short: "show the status of automated certificates for an app's domains",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			var a apiclient.App
			var domains []apiclient.Domain
			var raw json.RawMessage
			fetch := func() error {
				if err := c.Get(e.Ctxt(), "/apps/"+apiclient.Escape(app), &a); err != nil {
					return err
				}
				return c.List(e.Ctxt(), "/apps/"+apiclient.Escape(app)+"/domains", &raw)
			}
			if err := fetch(); err != nil {
				return err
			}
			if wait && a.ACM {
				err := e.Action("Waiting until the certificate is issued to all domains", func() (string, error) {
					for {
						if err := cli.Decode(raw, &domains); err != nil {
							return "", err
						}
						done := true
						for _, d := range domains {
							if d.Kind == "custom" && (d.ACMStatus == nil || *d.ACMStatus == "pending") {
								done = false
							}
						}
						if done {
							return "", nil
						}
						select {
						case <-e.Ctxt().Done():
							return "", e.Ctxt().Err()
						case <-time.After(2 * time.Second):
						}
						if err := fetch(); err != nil {
							return "", err
						}
					}
				})
				if err != nil {
					return err
				}
			}
			if jsonOut {
				return e.JSON(raw)
			}
			if err := cli.Decode(raw, &domains); err != nil {
				return err
			}
			e.Printf("%s", FormatAuto(a, domains))
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until no domain is pending")
	return cmd
}

func autoEnable(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	cmd := &cobra.Command{
		Use:   "certs:auto:enable",
		Short: "enable Automated Certificate Management: certificates for the app's custom domains from an ACME CA",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			err = e.ActionStatus("Enabling Automatic Certificate Management", func() (string, error) {
				if err := c.Do(e.Ctxt(), http.MethodPost, acmPath(app), nil, nil); err != nil {
					return "", err
				}
				return "starting. See status with paas certs:auto or wait until active with paas certs:auto --wait", nil
			})
			if err != nil {
				return err
			}
			e.Heading("Your certificate will now be managed by paasd. Check the status by running paas certs:auto.")
			return nil
		},
	}
	af.Register(e, cmd)
	return cmd
}

func autoDisable(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var confirm string
	cmd := &cobra.Command{
		Use:   "certs:auto:disable",
		Short: "disable Automated Certificate Management (its certificates are removed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			if confirm != "" && confirm != app {
				return cli.Failf("Confirmation %s did not match %s. Aborted.", confirm, app)
			}
			return e.Action("Disabling Automatic Certificate Management for "+cli.Hexagon+" "+app, func() (string, error) {
				return "", c.Do(e.Ctxt(), http.MethodDelete, acmPath(app), nil, nil)
			})
		},
	}
	af.Register(e, cmd)
	cmd.Flags().StringVarP(&confirm, "confirm", "c", "", "the app's name (accepted for compatibility with heroku certs:auto:disable)")
	return cmd
}

func autoRefresh(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	cmd := &cobra.Command{
		Use:   "certs:auto:refresh",
		Short: "retry issuing automated certificates now for domains that have none",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			return e.Action("Refreshing Automatic Certificate Management for "+cli.Hexagon+" "+app, func() (string, error) {
				return "", c.Do(e.Ctxt(), http.MethodPatch, acmPath(app)+"/refresh", nil, nil)
			})
		},
	}
	af.Register(e, cmd)
	return cmd
}
