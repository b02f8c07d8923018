// Package apps is `paas apps`, `apps:create`, `apps:destroy`, `apps:info`
// and `apps:rename`.
package apps

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/cli"
)

// Commands returns the apps commands.
func Commands(e *cli.Env) []*cobra.Command {
	return []*cobra.Command{list(e), create(e), destroy(e), info(e), rename(e), open(e)}
}

func list(e *cli.Env) *cobra.Command {
	var jsonOut, all bool
	cmd := &cobra.Command{
		Use:     "apps",
		Aliases: []string{"apps:list", "list"},
		Short:   "list your apps",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.Client()
			if err != nil {
				return err
			}
			path := "/users/~/apps"
			if all {
				path = "/apps"
			}
			apps, done, err := cli.ListItems[apiclient.App](e, c, path, jsonOut)
			if done || err != nil {
				return err
			}
			var acct apiclient.Account
			if err := c.Get(e.Ctxt(), "/account", &acct); err != nil {
				return err
			}
			if len(apps) == 0 {
				e.Printf("You have no apps.\n")
				return nil
			}
			sort.Slice(apps, func(i, j int) bool { return apps[i].Name < apps[j].Name })
			if all {
				e.Heading("All Apps")
			} else {
				e.Heading(acct.Email + " Apps")
			}
			for _, a := range apps {
				if all && a.Owner.Email != acct.Email {
					e.Printf("%s  %s\n", a.Name, a.Owner.Email)
					continue
				}
				e.Printf("%s\n", a.Name)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "A", false, "include apps of every user (admins)")
	cli.JSONFlag(cmd, &jsonOut)
	return cmd
}

func create(e *cli.Env) *cobra.Command {
	var region, stack, remote string
	var noRemote, jsonOut bool
	cmd := &cobra.Command{
		Use:     "apps:create [APP]",
		Aliases: []string{"create"},
		Short:   "create a new app",
		Long:    "Create a new app. In a git repository, a git remote (default \"paas\") pointing at the app is added.",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.Client()
			if err != nil {
				return err
			}
			body := map[string]string{}
			name := ""
			if len(args) == 1 {
				name = args[0]
				body["name"] = name
			}
			if region != "" {
				body["region"] = region
			}
			if stack != "" {
				body["stack"] = stack
			}
			var raw json.RawMessage
			var app apiclient.App
			msg := "Creating " + cli.Hexagon + " " + name
			if name == "" {
				msg = "Creating app"
			}
			err = e.Action(msg, func() (string, error) {
				if err := c.Do(e.Ctxt(), http.MethodPost, "/apps", body, &raw); err != nil {
					return "", err
				}
				if err := cli.Decode(raw, &app); err != nil {
					return "", err
				}
				if name == "" {
					return cli.Hexagon + " " + app.Name, nil
				}
				return "", nil
			})
			if err != nil {
				return err
			}
			if !noRemote && e.InGitRepo() {
				if err := e.SetGitRemote(remote, app.GitURL); err != nil {
					e.Errorf("could not add git remote %s: %v", remote, err)
				}
			}
			if jsonOut {
				return e.JSON(raw)
			}
			e.Printf("%s | %s\n", app.WebURL, app.GitURL)
			return nil
		},
	}
	cmd.Flags().StringVar(&region, "region", "", "the region label of the app")
	cmd.Flags().StringVarP(&stack, "stack", "s", "", "the stack to create the app on")
	cmd.Flags().StringVarP(&remote, "remote", "r", "paas", "the git remote to create")
	cmd.Flags().BoolVar(&noRemote, "no-remote", false, "do not create a git remote")
	cli.JSONFlag(cmd, &jsonOut)
	return cmd
}

// Confirm asks the user to type app, unless confirm already is app. It
// returns an error when the answer does not match.
func Confirm(e *cli.Env, app, confirm, warning string) error {
	if confirm == app {
		return nil
	}
	if confirm != "" {
		return cli.Failf("Confirmation %s did not match %s. Aborted.", confirm, app)
	}
	cli.FormatError(e.Err, "WARNING: "+warning+"\nTo proceed, type "+app+" or re-run this command with --confirm "+app)
	fmt.Fprint(e.Err, "\n> ")
	line, _ := bufio.NewReader(e.In).ReadString('\n')
	if strings.TrimSpace(line) != app {
		return cli.Failf("Confirmation did not match %s. Aborted.", app)
	}
	return nil
}

func destroy(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var confirm string
	cmd := &cobra.Command{
		Use:     "apps:destroy [APP]",
		Aliases: []string{"destroy", "apps:delete"},
		Short:   "permanently destroy an app",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if af.App != "" && af.App != args[0] {
					return cli.Usagef("app %q given twice, differently: %q and --app %q", args[0], args[0], af.App)
				}
				af.App = args[0]
			}
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			var a apiclient.App
			if err := c.Get(e.Ctxt(), "/apps/"+apiclient.Escape(app), &a); err != nil {
				return err
			}
			if err := Confirm(e, a.Name, confirm, "This will delete "+cli.Hexagon+" "+a.Name+" including all add-ons."); err != nil {
				return err
			}
			err = e.Action("Destroying "+cli.Hexagon+" "+a.Name+" (including all add-ons)", func() (string, error) {
				return "", c.Do(e.Ctxt(), http.MethodDelete, "/apps/"+apiclient.Escape(a.Name), nil, nil)
			})
			if err != nil {
				return err
			}
			// Remove git remotes that point at the destroyed app.
			if remotes, err := e.GitRemotes(); err == nil {
				for name, u := range remotes {
					if cli.AppFromGitURL(u) == a.Name && u == a.GitURL {
						e.Git("remote", "rm", name)
					}
				}
			}
			return nil
		},
	}
	af.Register(e, cmd)
	cmd.Flags().StringVarP(&confirm, "confirm", "c", "", "the app's name, to skip the confirmation prompt")
	return cmd
}

// Info is what apps:info --json prints, as heroku does.
type Info struct {
	App           json.RawMessage `json:"app"`
	Addons        json.RawMessage `json:"addons"`
	Collaborators json.RawMessage `json:"collaborators"`
	Dynos         json.RawMessage `json:"dynos"`
	Formation     json.RawMessage `json:"formation"`
	Domains       json.RawMessage `json:"domains"`
}

// FetchInfo gets everything apps:info shows.
func FetchInfo(ctx context.Context, c *apiclient.Client, app string) (Info, error) {
	var in Info
	base := "/apps/" + apiclient.Escape(app)
	if err := c.Get(ctx, base, &in.App); err != nil {
		return in, err
	}
	for _, p := range []struct {
		path string
		dst  *json.RawMessage
	}{{"/addons", &in.Addons}, {"/collaborators", &in.Collaborators}, {"/dynos", &in.Dynos}, {"/formation", &in.Formation}, {"/domains", &in.Domains}} {
		if err := c.List(ctx, base+p.path, p.dst); err != nil {
			return in, err
		}
	}
	return in, nil
}

// FormatInfo renders apps:info's text output.
func FormatInfo(in Info) (string, error) {
	var a apiclient.App
	var addons []apiclient.Addon
	var collabs []struct {
		Role string            `json:"role"`
		User apiclient.UserRef `json:"user"`
	}
	var form []apiclient.Formation
	var domains []apiclient.Domain
	for _, d := range []struct {
		raw json.RawMessage
		v   any
	}{{in.App, &a}, {in.Addons, &addons}, {in.Collaborators, &collabs}, {in.Formation, &form}, {in.Domains, &domains}} {
		if err := cli.Decode(d.raw, d.v); err != nil {
			return "", err
		}
	}
	var addonNames, collabEmails, dynos, customDomains []string
	for _, ad := range addons {
		addonNames = append(addonNames, ad.Plan.Name)
	}
	for _, cb := range collabs {
		if cb.User.Email != a.Owner.Email {
			collabEmails = append(collabEmails, cb.User.Email)
		}
	}
	sort.Slice(form, func(i, j int) bool { return form[i].Type < form[j].Type })
	for _, f := range form {
		if f.Quantity > 0 {
			dynos = append(dynos, fmt.Sprintf("%s: %d", f.Type, f.Quantity))
		}
	}
	for _, d := range domains {
		if d.Kind == "custom" {
			customDomains = append(customDomains, d.Hostname)
		}
	}
	kvs := []cli.KV{}
	add := func(k string, vs []string) {
		if len(vs) > 0 {
			kvs = append(kvs, cli.KV{Key: k, Value: strings.Join(vs, "\n")})
		}
	}
	add("Addons", addonNames)
	add("Collaborators", collabEmails)
	add("Custom Domains", customDomains)
	add("Dynos", dynos)
	kvs = append(kvs,
		cli.KV{Key: "Git URL", Value: a.GitURL},
		cli.KV{Key: "Maintenance", Value: fmt.Sprint(a.Maintenance)},
		cli.KV{Key: "Owner", Value: a.Owner.Email},
		cli.KV{Key: "Region", Value: a.Region.Name},
		cli.KV{Key: "Repo Size", Value: bytesize(a.RepoSize)},
		cli.KV{Key: "Slug Size", Value: bytesize(a.SlugSize)},
		cli.KV{Key: "Stack", Value: a.Stack.Name},
		cli.KV{Key: "Web URL", Value: a.WebURL},
	)
	return "=== " + a.Name + "\n" + cli.FormatKeyValues(kvs), nil
}

func bytesize(p *int64) string {
	if p == nil {
		return "0 B"
	}
	n := float64(*p)
	for _, u := range []string{"B", "KB", "MB", "GB"} {
		if n < 1024 || u == "GB" {
			if u == "B" {
				return fmt.Sprintf("%d B", *p)
			}
			return fmt.Sprintf("%.1f %s", n, u)
		}
		n /= 1024
	}
	return ""
}

func info(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	cmd := &cobra.Command{
		Use:     "apps:info [APP]",
		Aliases: []string{"info"},
		Short:   "show detailed app information",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				af.App = args[0]
			}
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			in, err := FetchInfo(e.Ctxt(), c, app)
			if err != nil {
				return err
			}
			if jsonOut {
				return e.JSON(in)
			}
			out, err := FormatInfo(in)
			if err != nil {
				return err
			}
			e.Printf("%s", out)
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	return cmd
}

func rename(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	cmd := &cobra.Command{
		Use:     "apps:rename NEWNAME",
		Aliases: []string{"rename"},
		Short:   "rename an app",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			var old apiclient.App
			if err := c.Get(e.Ctxt(), "/apps/"+apiclient.Escape(app), &old); err != nil {
				return err
			}
			var raw json.RawMessage
			err = e.Action("Renaming "+old.Name+" to "+args[0], func() (string, error) {
				return "", c.Do(e.Ctxt(), http.MethodPatch, "/apps/"+apiclient.Escape(app), map[string]string{"name": args[0]}, &raw)
			})
			if err != nil {
				return err
			}
			var a apiclient.App
			if err := cli.Decode(raw, &a); err != nil {
				return err
			}
			if jsonOut {
				e.JSON(raw)
			} else {
				e.Printf("%s | %s\n", a.WebURL, a.GitURL)
			}
			if remotes, err := e.GitRemotes(); err == nil {
				for name, u := range remotes {
					if u == old.GitURL {
						if err := e.SetGitRemote(name, a.GitURL); err == nil {
							fmt.Fprintf(e.Err, "Git remote %s updated\n", name)
						}
					}
				}
			}
			cli.FormatError(e.Err, "Don't forget to update git remotes for all other local checkouts of the app.")
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	return cmd
}

func open(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	cmd := &cobra.Command{
		Use:     "apps:open [PATH]",
		Aliases: []string{"open"},
		Short:   "open the app in a web browser (prints the URL when there is none)",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			var a apiclient.App
			if err := c.Get(e.Ctxt(), "/apps/"+apiclient.Escape(app), &a); err != nil {
				return err
			}
			u := a.WebURL
			if len(args) == 1 {
				u = strings.TrimSuffix(u, "/") + "/" + strings.TrimPrefix(args[0], "/")
			}
			if browser, err := exec.LookPath("xdg-open"); err == nil && e.OutIsTTY() {
				fmt.Fprintf(e.Err, "Opening %s...\n", u)
				return exec.CommandContext(e.Ctxt(), browser, u).Start()
			}
			e.Printf("%s\n", u)
			return nil
		},
	}
	af.Register(e, cmd)
	return cmd
}
