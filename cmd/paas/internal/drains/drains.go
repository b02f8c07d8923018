// Package drains is `paas drains`, `drains:add` and `drains:remove`.
package drains

import (
	"encoding/json"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/cli"
)

// Commands returns the drains commands.
func Commands(e *cli.Env) []*cobra.Command {
	return []*cobra.Command{list(e), add(e), remove(e)}
}

func drainsPath(app string) string { return "/apps/" + apiclient.Escape(app) + "/log-drains" }

// FormatList renders `drains`.
func FormatList(app string, drains []apiclient.Drain, extended bool) string {
	if len(drains) == 0 {
		return cli.Hexagon + " " + app + " has no drains.\n"
	}
	out := "=== Drains\n"
	for _, d := range drains {
		out += d.URL + " (" + d.Token + ")"
		if extended {
			out += " id:" + d.ID
		}
		out += "\n"
	}
	return out
}

func list(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut, extended bool
	cmd := &cobra.Command{
		Use:   "drains",
		Short: "list an app's log drains",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			ds, done, err := cli.ListItems[apiclient.Drain](e, c, drainsPath(app), jsonOut)
			if done || err != nil {
				return err
			}
			e.Printf("%s", FormatList(app, ds, extended))
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	cmd.Flags().BoolVarP(&extended, "extended", "x", false, "show drain ids")
	return cmd
}

func add(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "drains:add URL",
		Short: "add a log drain (syslog://, syslog+tls://, https://)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			var raw json.RawMessage
			if err := c.Do(e.Ctxt(), http.MethodPost, drainsPath(app), map[string]string{"url": args[0]}, &raw); err != nil {
				return err
			}
			if jsonOut {
				return e.JSON(raw)
			}
			var d apiclient.Drain
			if err := cli.Decode(raw, &d); err != nil {
				return err
			}
			e.Printf("Successfully added drain %s\n", d.URL)
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	return cmd
}

func remove(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	cmd := &cobra.Command{
		Use:   "drains:remove URL|TOKEN",
		Short: "remove a log drain",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			var d apiclient.Drain
			if err := c.Do(e.Ctxt(), http.MethodDelete, drainsPath(app)+"/"+apiclient.Escape(args[0]), nil, &d); err != nil {
				return err
			}
			if d.URL == "" {
				d.URL = args[0]
			}
			e.Printf("Successfully removed drain %s\n", d.URL)
			return nil
		},
	}
	af.Register(e, cmd)
	return cmd
}
