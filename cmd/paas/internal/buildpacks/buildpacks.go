// Package buildpacks is `paas buildpacks`, `buildpacks:set`, `:add`,
// `:remove` and `:clear`, over the app's buildpack installations
// (GET/PUT /apps/{app}/buildpack-installations).
package buildpacks

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/cli"
)

// Commands returns the buildpacks commands.
func Commands(e *cli.Env) []*cobra.Command {
	return []*cobra.Command{
		list(e),
		edit(e, "buildpacks:set", "set the app's buildpack (at --index, default 1)", Set),
		edit(e, "buildpacks:add", "add a buildpack (at --index, default last)", Add),
		edit(e, "buildpacks:remove", "remove a buildpack (by URL or --index)", Remove),
		clear(e),
	}
}

func path(app string) string { return "/apps/" + apiclient.Escape(app) + "/buildpack-installations" }

// Op changes a buildpack list; index is 1-based, 0 when not given.
type Op func(list []string, url string, index int) ([]string, error)

// Set replaces the buildpack at index (default 1); index one past the end
// appends. Setting a buildpack that is already elsewhere in the list is an
// error.
func Set(list []string, url string, index int) ([]string, error) {
	if url == "" {
		return nil, cli.Usagef("Usage: paas buildpacks:set BUILDPACK [-i INDEX]")
	}
	if index == 0 {
		index = 1
	}
	if index < 1 || index > len(list)+1 {
		return nil, cli.Usagef("Invalid index %d: the app has %s", index, cli.Plural(len(list), "buildpack"))
	}
	if i := slices.Index(list, url); i >= 0 && i != index-1 {
		return nil, cli.Failf("The buildpack %s is already set on your app.", url)
	}
	out := slices.Clone(list)
	if index == len(list)+1 {
		return append(out, url), nil
	}
	out[index-1] = url
	return out, nil
}

// Add inserts url at index (default: the end).
func Add(list []string, url string, index int) ([]string, error) {
	if url == "" {
		return nil, cli.Usagef("Usage: paas buildpacks:add BUILDPACK [-i INDEX]")
	}
	if slices.Contains(list, url) {
		return nil, cli.Failf("The buildpack %s is already set on your app.", url)
	}
	if index == 0 || index > len(list) {
		index = len(list) + 1
	}
	if index < 1 {
		return nil, cli.Usagef("Invalid index %d: indexes start at 1", index)
	}
	return slices.Insert(slices.Clone(list), index-1, url), nil
}

// Remove removes url, or the buildpack at index.
func Remove(list []string, url string, index int) ([]string, error) {
	switch {
	case url != "" && index != 0:
		return nil, cli.Usagef("Please choose either index or buildpack URL, but not both.")
	case url == "" && index == 0:
		return nil, cli.Usagef("Usage: paas buildpacks:remove [BUILDPACK | -i INDEX]")
	case url != "":
		i := slices.Index(list, url)
		if i < 0 {
			return nil, cli.Failf("Buildpack not found. Nothing was removed.")
		}
		return slices.Delete(slices.Clone(list), i, i+1), nil
	default:
		if index < 1 || index > len(list) {
			return nil, cli.Failf("Invalid index %d: the app has %s.", index, cli.Plural(len(list), "buildpack"))
		}
		return slices.Delete(slices.Clone(list), index-1, index), nil
	}
}

func fetch(e *cli.Env, c *apiclient.Client, app string) ([]string, error) {
	var inst []apiclient.BuildpackInstallation
	if err := c.List(e.Ctxt(), path(app), &inst); err != nil {
		return nil, err
	}
	sort.Slice(inst, func(i, j int) bool { return inst[i].Ordinal < inst[j].Ordinal })
	out := make([]string, len(inst))
	for i, b := range inst {
		out[i] = b.Buildpack.URL
		if out[i] == "" {
			out[i] = b.Buildpack.Name
		}
	}
	return out, nil
}

func put(e *cli.Env, c *apiclient.Client, app string, list []string) error {
	updates := make([]map[string]string, len(list))
	for i, u := range list {
		updates[i] = map[string]string{"buildpack": u}
	}
	return c.Do(e.Ctxt(), http.MethodPut, path(app), map[string]any{"updates": updates}, nil)
}

// FormatList renders `buildpacks`.
func FormatList(app string, list []string) string {
	switch len(list) {
	case 0:
		return cli.Hexagon + " " + app + " has no Buildpack URL set.\n"
	case 1:
		return "=== " + app + " Buildpack URL\n" + list[0] + "\n"
	}
	var b strings.Builder
	b.WriteString("=== " + app + " Buildpack URLs\n")
	for i, u := range list {
		fmt.Fprintf(&b, "%d. %s\n", i+1, u)
	}
	return b.String()
}

// FormatChange is what a change prints.
func FormatChange(app, verb string, list []string) string {
	if len(list) == 0 {
		return "Buildpacks cleared. Next release on " + app + " will detect the buildpack normally.\n"
	}
	if len(list) == 1 {
		return fmt.Sprintf("Buildpack %s. Next release on %s will use %s.\nRun git push paas main to create a new release using this buildpack.\n", verb, app, list[0])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Buildpack %s. Next release on %s will use:\n", verb, app)
	for i, u := range list {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, u)
	}
	b.WriteString("Run git push paas main to create a new release using these buildpacks.\n")
	return b.String()
}

func list(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "buildpacks",
		Short: "display the buildpacks for an app",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, err := e.App(af)
			if err != nil {
				return err
			}
			c, err := e.Client()
			if err != nil {
				return err
			}
			if jsonOut {
				var raw json.RawMessage
				if err := c.List(e.Ctxt(), path(app), &raw); err != nil {
					return err
				}
				return e.JSON(raw)
			}
			l, err := fetch(e, c, app)
			if err != nil {
				return err
			}
			e.Printf("%s", FormatList(app, l))
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	return cmd
}

func edit(e *cli.Env, use, short string, op Op) *cobra.Command {
	var af cli.AppFlags
	var index int
	verb := map[string]string{"buildpacks:set": "set", "buildpacks:add": "added", "buildpacks:remove": "removed"}[use]
	cmd := &cobra.Command{
		Use:   use + " [BUILDPACK]",
		Short: short,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			url := ""
			if len(args) == 1 {
				url = args[0]
			}
			app, err := e.App(af)
			if err != nil {
				return err
			}
			c, err := e.Client()
			if err != nil {
				return err
			}
			cur, err := fetch(e, c, app)
			if err != nil {
				return err
			}
			next, err := op(cur, url, index)
			if err != nil {
				return err
			}
			if err := put(e, c, app, next); err != nil {
				return err
			}
			e.Printf("%s", FormatChange(app, verb, next))
			return nil
		},
	}
	af.Register(e, cmd)
	cmd.Flags().IntVarP(&index, "index", "i", 0, "the 1-based index of the buildpack in the list")
	return cmd
}

func clear(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	cmd := &cobra.Command{
		Use:   "buildpacks:clear",
		Short: "clear all buildpacks set on the app (detect again)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, err := e.App(af)
			if err != nil {
				return err
			}
			c, err := e.Client()
			if err != nil {
				return err
			}
			if err := put(e, c, app, nil); err != nil {
				return err
			}
			e.Printf("%s", FormatChange(app, "", nil))
			return nil
		},
	}
	af.Register(e, cmd)
	return cmd
}
