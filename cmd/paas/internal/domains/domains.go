// Package domains is `paas domains`, `domains:add`, `domains:remove` and
// `domains:clear`.
package domains

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/cli"
)

// Commands returns the domains commands.
func Commands(e *cli.Env) []*cobra.Command {
	return []*cobra.Command{list(e), add(e), remove(e), clear(e)}
}

func domainsPath(app string) string { return "/apps/" + apiclient.Escape(app) + "/domains" }

// FormatList renders `domains`: the platform's domain, then a table of
// custom domains with their DNS target.
func FormatList(app string, ds []apiclient.Domain) string {
	var b strings.Builder
	var custom [][]string
	sort.Slice(ds, func(i, j int) bool { return ds[i].Hostname < ds[j].Hostname })
	for _, d := range ds {
		if d.Kind != "custom" {
			b.WriteString("=== " + app + " Heroku Domain\n" + d.Hostname + "\n")
			continue
		}
		target := ""
		if d.CNAME != nil {
			target = *d.CNAME
		}
		sni := ""
		if d.SNIEndpoint != nil {
			sni = d.SNIEndpoint.Name
		}
		custom = append(custom, []string{d.Hostname, "CNAME", target, sni})
	}
	if len(custom) > 0 {
		b.WriteString("\n=== " + app + " Custom Domains\n")
		b.WriteString(cli.FormatTable([]string{"Domain Name", "DNS Record Type", "DNS Target", "SNI Endpoint"}, custom))
	}
	return b.String()
}

func list(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "domains",
		Short: "list domains for an app",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			ds, done, err := cli.ListItems[apiclient.Domain](e, c, domainsPath(app), jsonOut)
			if done || err != nil {
				return err
			}
			e.Printf("%s", FormatList(app, ds))
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	return cmd
}

func add(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	var cert string
	cmd := &cobra.Command{
		Use:   "domains:add HOSTNAME",
		Short: "add a domain to an app",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			var raw json.RawMessage
			err = e.Action("Adding "+args[0]+" to "+cli.Hexagon+" "+app, func() (string, error) {
				body := map[string]any{"hostname": args[0], "sni_endpoint": nil}
				if cert != "" {
					body["sni_endpoint"] = cert
				}
				return "", c.Do(e.Ctxt(), http.MethodPost, domainsPath(app), body, &raw)
			})
			if err != nil {
				return err
			}
			if jsonOut {
				return e.JSON(raw)
			}
			var d apiclient.Domain
			if err := cli.Decode(raw, &d); err != nil {
				return err
			}
			if d.CNAME != nil {
				cli.FormatError(e.Err, "Configure your app's DNS provider to point to the DNS Target "+*d.CNAME+".")
			}
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	cmd.Flags().StringVar(&cert, "cert", "", "name of the SNI endpoint (paas certs) serving this domain over HTTPS")
	return cmd
}

func remove(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	cmd := &cobra.Command{
		Use:   "domains:remove HOSTNAME",
		Short: "remove a domain from an app",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			return e.Action("Removing "+args[0]+" from "+cli.Hexagon+" "+app, func() (string, error) {
				return "", c.Do(e.Ctxt(), http.MethodDelete, domainsPath(app)+"/"+apiclient.Escape(args[0]), nil, nil)
			})
		},
	}
	af.Register(e, cmd)
	return cmd
}

func clear(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	cmd := &cobra.Command{
		Use:   "domains:clear",
		Short: "remove all custom domains from an app",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			var ds []apiclient.Domain
			if err := c.List(e.Ctxt(), domainsPath(app), &ds); err != nil {
				return err
			}
			return e.Action("Removing all domains from "+cli.Hexagon+" "+app, func() (string, error) {
				for _, d := range ds {
					if d.Kind != "custom" {
						continue
					}
					if err := c.Do(e.Ctxt(), http.MethodDelete, domainsPath(app)+"/"+apiclient.Escape(d.Hostname), nil, nil); err != nil {
						return "", err
					}
				}
				return "", nil
			})
		},
	}
	af.Register(e, cmd)
	return cmd
}
