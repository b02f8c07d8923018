// Package access is `paas access`, `access:add` and `access:remove`: an
// app's collaborators.
package access

import (
	"net/http"
	"sort"

	"github.com/spf13/cobra"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/cli"
)

// Commands returns the access commands.
func Commands(e *cli.Env) []*cobra.Command {
	return []*cobra.Command{list(e), add(e), remove(e)}
}

func path(app string) string { return "/apps/" + apiclient.Escape(app) + "/collaborators" }

// Collaborator is the collaborator resource.
type Collaborator struct {
	Role string            `json:"role"`
	User apiclient.UserRef `json:"user"`
}

// FormatList renders `access`: the owner first, then the others by email.
func FormatList(app string, cs []Collaborator) string {
	sort.SliceStable(cs, func(i, j int) bool {
		if (cs[i].Role == "owner") != (cs[j].Role == "owner") {
			return cs[i].Role == "owner"
		}
		return cs[i].User.Email < cs[j].User.Email
	})
	rows := make([][]string, len(cs))
	for i, c := range cs {
		role := c.Role
		if role == "" {
			role = "collaborator"
		}
		rows[i] = []string{c.User.Email, role}
	}
	return "=== " + app + " Access List\n" + cli.FormatTable(nil, rows)
}

func list(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "access",
		Short: "list who has access to an app",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			cs, done, err := cli.ListItems[Collaborator](e, c, path(app), jsonOut)
			if done || err != nil {
				return err
			}
			e.Printf("%s", FormatList(app, cs))
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	return cmd
}

func add(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	cmd := &cobra.Command{
		Use:     "access:add EMAIL",
		Aliases: []string{"sharing:add"},
		Short:   "add a collaborator to an app",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			return e.Action("Adding "+args[0]+" access to the app "+app, func() (string, error) {
				return "", c.Do(e.Ctxt(), http.MethodPost, path(app), map[string]string{"user": args[0]}, nil)
			})
		},
	}
	af.Register(e, cmd)
	return cmd
}

func remove(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	cmd := &cobra.Command{
		Use:     "access:remove EMAIL",
		Aliases: []string{"sharing:remove"},
		Short:   "remove a collaborator from an app",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			return e.Action("Removing "+args[0]+" access from the app "+app, func() (string, error) {
				return "", c.Do(e.Ctxt(), http.MethodDelete, path(app)+"/"+apiclient.Escape(args[0]), nil, nil)
			})
		},
	}
	af.Register(e, cmd)
	return cmd
}
