// Package maintenance is `paas maintenance`, `maintenance:on` and
// `maintenance:off`.
package maintenance

import (
	"net/http"

	"github.com/spf13/cobra"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/cli"
)

// Commands returns the maintenance commands.
func Commands(e *cli.Env) []*cobra.Command {
	return []*cobra.Command{show(e), toggle(e, true), toggle(e, false)}
}

func show(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "maintenance",
		Short: "display the current maintenance status of an app",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			var a apiclient.App
			if err := c.Get(e.Ctxt(), "/apps/"+apiclient.Escape(app), &a); err != nil {
				return err
			}
			if jsonOut {
				return e.JSON(map[string]any{"app": a.Name, "maintenance": a.Maintenance})
			}
			if a.Maintenance {
				e.Printf("on\n")
			} else {
				e.Printf("off\n")
			}
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	return cmd
}

func toggle(e *cli.Env, on bool) *cobra.Command {
	var af cli.AppFlags
	use, short, verb := "maintenance:off", "take the app out of maintenance mode", "Disabling"
	if on {
		use, short, verb = "maintenance:on", "put the app into maintenance mode (the router answers 503, H80)", "Enabling"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			return e.Action(verb+" maintenance mode for "+cli.Hexagon+" "+app, func() (string, error) {
				return "", c.Do(e.Ctxt(), http.MethodPatch, "/apps/"+apiclient.Escape(app), map[string]bool{"maintenance": on}, nil)
			})
		},
	}
	af.Register(e, cmd)
	return cmd
}
