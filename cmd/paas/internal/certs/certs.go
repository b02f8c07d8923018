// Package certs is `paas certs`, `certs:add`, `certs:info`, `certs:update`
// and `certs:remove`: an app's TLS certificates (SNI endpoints), which the
// router serves for its custom domains; and `certs:auto`,
// `certs:auto:enable`, `certs:auto:disable` and `certs:auto:refresh`:
// Automated Certificate Management (certificates from an ACME CA).
package certs

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/cli"
)

// Commands returns the certs commands.
func Commands(e *cli.Env) []*cobra.Command {
	return []*cobra.Command{list(e), add(e), info(e), update(e), remove(e), auto(e), autoEnable(e), autoDisable(e), autoRefresh(e)}
}

func certsPath(app string) string { return "/apps/" + apiclient.Escape(app) + "/sni-endpoints" }

const timeFormat = "2006-01-02 15:04 MST"

// FormatList renders `certs` as Heroku does: one row per certificate.
func FormatList(eps []apiclient.SNIEndpoint) string {
	if len(eps) == 0 {
		return ""
	}
	rows := make([][]string, 0, len(eps))
	for _, ep := range eps {
		trusted := "False"
		if ep.SSLCert.CASigned {
			trusted = "True"
		}
		rows = append(rows, []string{ep.Name, strings.Join(ep.SSLCert.CertDomains, ", "),
			ep.SSLCert.ExpiresAt.UTC().Format(timeFormat), trusted, "SNI", strconv.Itoa(len(ep.Domains))})
	}
	return cli.FormatTable([]string{"Name", "Common Name(s)", "Expires", "Trusted", "Type", "Domains"}, rows)
}

// FormatInfo renders a certificate's details, as `certs:info` does.
func FormatInfo(ep apiclient.SNIEndpoint) string {
	var b strings.Builder
	b.WriteString("Certificate details:\n")
	b.WriteString(cli.FormatKeyValues([]cli.KV{
		{Key: "Common Name(s)", Value: strings.Join(ep.SSLCert.CertDomains, ", ")},
		{Key: "Expires At", Value: ep.SSLCert.ExpiresAt.UTC().Format(timeFormat)},
		{Key: "Issuer", Value: ep.SSLCert.Issuer},
		{Key: "Starts At", Value: ep.SSLCert.StartsAt.UTC().Format(timeFormat)},
		{Key: "Subject", Value: ep.SSLCert.Subject},
	}))
	if ep.SSLCert.SelfSigned {
		b.WriteString("SSL certificate is self signed.\n")
	} else if ep.SSLCert.CASigned {
		b.WriteString("SSL certificate is verified by a root authority.\n")
	}
	return b.String()
}

func list(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "list TLS certificates for an app",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			eps, done, err := cli.ListItems[apiclient.SNIEndpoint](e, c, certsPath(app), jsonOut)
			if done || err != nil {
				return err
			}
			if len(eps) == 0 {
				e.Printf("%s has no SSL certificates.\nUse paas certs:add CRT KEY to add one.\n", app)
				return nil
			}
			e.Printf("%s", FormatList(eps))
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	return cmd
}

// readPair reads a certificate chain and key file.
func readPair(crt, key string) (map[string]string, error) {
	c, err := os.ReadFile(crt)
	if err != nil {
		return nil, cli.Failf("Could not read the certificate: %v", err)
	}
	k, err := os.ReadFile(key)
	if err != nil {
		return nil, cli.Failf("Could not read the private key: %v", err)
	}
	return map[string]string{"certificate_chain": string(c), "private_key": string(k)}, nil
}

func add(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	var domains []string
	cmd := &cobra.Command{
		Use:   "certs:add CRT KEY",
		Short: "add a TLS certificate (PEM chain and key files) to an app",
		Long: "Adds a certificate. The router serves it, chosen by SNI, for the app's custom domains\n" +
			"it covers; --domains also makes it the certificate of those domains.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			body, err := readPair(args[0], args[1])
			if err != nil {
				return err
			}
			var raw json.RawMessage
			err = e.Action("Adding SSL certificate to "+cli.Hexagon+" "+app, func() (string, error) {
				return "", c.Do(e.Ctxt(), http.MethodPost, certsPath(app), body, &raw)
			})
			if err != nil {
				return err
			}
			var ep apiclient.SNIEndpoint
			if err := cli.Decode(raw, &ep); err != nil {
				return err
			}
			for _, d := range domains {
				err := e.Action("Adding "+d+" to "+ep.Name, func() (string, error) {
					return "", c.Do(e.Ctxt(), http.MethodPatch, "/apps/"+apiclient.Escape(app)+"/domains/"+apiclient.Escape(d),
						map[string]string{"sni_endpoint": ep.Name}, nil)
				})
				if err != nil {
					return err
				}
			}
			if jsonOut {
				return e.JSON(raw)
			}
			e.Printf("%s", FormatInfo(ep))
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	cmd.Flags().StringSliceVar(&domains, "domains", nil, "domains (comma-separated) to serve with this certificate")
	return cmd
}

// endpointName resolves --name, or the app's only certificate.
func endpointName(e *cli.Env, c *apiclient.Client, app, name string) (string, error) {
	if name != "" {
		return name, nil
	}
	var eps []apiclient.SNIEndpoint
	if err := c.List(e.Ctxt(), certsPath(app), &eps); err != nil {
		return "", err
	}
	switch len(eps) {
	case 0:
		return "", cli.Failf("%s has no SSL certificates.", app)
	case 1:
		return eps[0].Name, nil
	}
	names := make([]string, len(eps))
	for i, ep := range eps {
		names[i] = ep.Name
	}
	return "", cli.Failf("%s has more than one SSL certificate; choose one with --name (%s).", app, strings.Join(names, ", "))
}

func info(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	var name string
	cmd := &cobra.Command{
		Use:   "certs:info",
		Short: "show a TLS certificate's details",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			if name, err = endpointName(e, c, app, name); err != nil {
				return err
			}
			var raw json.RawMessage
			err = e.Action("Fetching SSL certificate "+name+" info for "+cli.Hexagon+" "+app, func() (string, error) {
				return "", c.Get(e.Ctxt(), certsPath(app)+"/"+apiclient.Escape(name), &raw)
			})
			if err != nil {
				return err
			}
			return printEndpoint(e, raw, jsonOut)
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	cmd.Flags().StringVar(&name, "name", "", "name of the certificate (default: the app's only one)")
	return cmd
}

func update(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	var name string
	cmd := &cobra.Command{
		Use:   "certs:update CRT KEY",
		Short: "replace a TLS certificate and key",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			body, err := readPair(args[0], args[1])
			if err != nil {
				return err
			}
			if name, err = endpointName(e, c, app, name); err != nil {
				return err
			}
			var raw json.RawMessage
			err = e.Action("Updating SSL certificate "+name+" for "+cli.Hexagon+" "+app, func() (string, error) {
				return "", c.Do(e.Ctxt(), http.MethodPatch, certsPath(app)+"/"+apiclient.Escape(name), body, &raw)
			})
			if err != nil {
				return err
			}
			return printEndpoint(e, raw, jsonOut)
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	cmd.Flags().StringVar(&name, "name", "", "name of the certificate (default: the app's only one)")
	return cmd
}

func remove(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var name, confirm string
	cmd := &cobra.Command{
		Use:   "certs:remove",
		Short: "remove a TLS certificate from an app",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			if confirm != "" && confirm != app {
				return cli.Failf("Confirmation %s did not match %s. Aborted.", confirm, app)
			}
			if name, err = endpointName(e, c, app, name); err != nil {
				return err
			}
			return e.Action("Removing SSL certificate "+name+" from "+cli.Hexagon+" "+app, func() (string, error) {
				return "", c.Do(e.Ctxt(), http.MethodDelete, certsPath(app)+"/"+apiclient.Escape(name), nil, nil)
			})
		},
	}
	af.Register(e, cmd)
	cmd.Flags().StringVar(&name, "name", "", "name of the certificate (default: the app's only one)")
	cmd.Flags().StringVarP(&confirm, "confirm", "c", "", "the app's name (accepted for compatibility with heroku certs:remove)")
	return cmd
}

// printEndpoint prints an SNI endpoint the API answered: raw with --json,
// else as certs:info shows it.
func printEndpoint(e *cli.Env, raw json.RawMessage, jsonOut bool) error {
	if jsonOut {
		return e.JSON(raw)
	}
	var ep apiclient.SNIEndpoint
	if err := cli.Decode(raw, &ep); err != nil {
		return err
	}
	e.Printf("%s", FormatInfo(ep))
	return nil
}
