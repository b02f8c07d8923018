// Package git is `paas git:remote` and `git:clone`.
package git

import (
	"github.com/spf13/cobra"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/cli"
)

// Commands returns the git commands.
func Commands(e *cli.Env) []*cobra.Command {
	return []*cobra.Command{remote(e), clone(e)}
}

func remote(e *cli.Env) *cobra.Command {
	var app, name string
	cmd := &cobra.Command{
		Use:   "git:remote",
		Short: "add a git remote for an app to the repository",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := e.App(cli.AppFlags{App: app})
			if err != nil {
				return err
			}
			if !e.InGitRepo() {
				return cli.Usagef("not in a git repository: run git init first")
			}
			c, err := e.Client()
			if err != nil {
				return err
			}
			var info apiclient.App
			if err := c.Get(e.Ctxt(), "/apps/"+apiclient.Escape(a), &info); err != nil {
				return err
			}
			if err := e.SetGitRemote(name, info.GitURL); err != nil {
				return err
			}
			e.Printf("set git remote %s to %s\n", name, info.GitURL)
			return nil
		},
	}
	cmd.Flags().StringVarP(&app, "app", "a", "", "the app to add a remote for")
	cmd.Flags().StringVarP(&name, "remote", "r", "paas", "the git remote to create")
	return cmd
}

func clone(e *cli.Env) *cobra.Command {
	var app, name string
	cmd := &cobra.Command{
		Use:   "git:clone [DIRECTORY]",
		Short: "clone an app's repository (the remote is named paas)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if app == "" {
				return cli.Usagef("Usage: paas git:clone -a APP [DIRECTORY]")
			}
			c, err := e.Client()
			if err != nil {
				return err
			}
			var info apiclient.App
			if err := c.Get(e.Ctxt(), "/apps/"+apiclient.Escape(app), &info); err != nil {
				return err
			}
			dir := info.Name
			if len(args) == 1 {
				dir = args[0]
			}
			if _, err := e.Git("clone", "--origin", name, info.GitURL, dir); err != nil {
				return err
			}
			e.Printf("Cloned %s into %s (remote %s)\n", info.Name, dir, name)
			return nil
		},
	}
	cmd.Flags().StringVarP(&app, "app", "a", "", "the app to clone")
	cmd.Flags().StringVarP(&name, "remote", "r", "paas", "the git remote to create")
	return cmd
}
