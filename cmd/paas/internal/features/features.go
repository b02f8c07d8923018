// Package features is `paas features`, `features:info`, `features:enable`
// and `features:disable`: an app's features, such as the router's
// load-balancing algorithm.
package features

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/cli"
)

// Commands returns the features commands.
func Commands(e *cli.Env) []*cobra.Command {
	return []*cobra.Command{list(e), info(e), toggle(e, true), toggle(e, false)}
}

func featuresPath(app string) string { return "/apps/" + apiclient.Escape(app) + "/features" }

// FormatList renders `features` as Heroku does: "[+] name  description",
// + marking the enabled ones.
func FormatList(app string, fs []apiclient.AppFeature) string {
	var b strings.Builder
	b.WriteString("=== App Features " + cli.Hexagon + " " + app + "\n")
	width := 0
	for _, f := range fs {
		width = max(width, len(f.Name))
	}
	for _, f := range fs {
		mark := "[ ]"
		if f.Enabled {
			mark = "[+]"
		}
		b.WriteString(mark + " " + f.Name + strings.Repeat(" ", width-len(f.Name)) + "  " + f.Description + "\n")
	}
	return b.String()
}

func list(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "features",
		Short: "list available app features",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			fs, done, err := cli.ListItems[apiclient.AppFeature](e, c, featuresPath(app), jsonOut)
			if done || err != nil {
				return err
			}
			e.Printf("%s", FormatList(app, fs))
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	return cmd
}

func info(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "features:info FEATURE",
		Short: "display information about a feature",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			var raw json.RawMessage
			if err := c.Get(e.Ctxt(), featuresPath(app)+"/"+apiclient.Escape(args[0]), &raw); err != nil {
				return err
			}
			if jsonOut {
				return e.JSON(raw)
			}
			var f apiclient.AppFeature
			if err := cli.Decode(raw, &f); err != nil {
				return err
			}
			e.Heading(f.Name)
			enabled := "false"
			if f.Enabled {
				enabled = "true"
			}
			e.KeyValues([]cli.KV{{Key: "Description", Value: f.Description}, {Key: "Enabled", Value: enabled}, {Key: "State", Value: f.State}})
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	return cmd
}

func toggle(e *cli.Env, on bool) *cobra.Command {
	var af cli.AppFlags
	use, short, verb := "features:disable FEATURE", "disable an app feature", "Disabling"
	if on {
		use, short, verb = "features:enable FEATURE", "enable an app feature", "Enabling"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			return e.Action(verb+" "+args[0]+" for "+cli.Hexagon+" "+app, func() (string, error) {
				return "", c.Do(e.Ctxt(), http.MethodPatch, featuresPath(app)+"/"+apiclient.Escape(args[0]), map[string]bool{"enabled": on}, nil)
			})
		},
	}
	af.Register(e, cmd)
	return cmd
}
