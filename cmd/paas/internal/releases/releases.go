// Package releases is `paas releases`, `releases:info` and
// `releases:rollback`.
package releases

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/cli"
)

// Commands returns the releases commands.
func Commands(e *cli.Env) []*cobra.Command {
	return []*cobra.Command{list(e), info(e), rollback(e)}
}

// ParseVersion parses "v3" or "3".
func ParseVersion(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(s), "v"))
	if err != nil || n < 1 {
		return 0, cli.Usagef("%q is not a release version like v3", s)
	}
	return n, nil
}

func releasesPath(app string) string { return "/apps/" + apiclient.Escape(app) + "/releases" }

// fetch returns every release, newest first.
func fetch(ctx context.Context, c *apiclient.Client, app string) (json.RawMessage, []apiclient.Release, error) {
	var raw []json.RawMessage
	if err := c.List(ctx, releasesPath(app), &raw); err != nil {
		return nil, nil, err
	}
	rels := make([]apiclient.Release, len(raw))
	for i, r := range raw {
		if err := cli.Decode(r, &rels[i]); err != nil {
			return nil, nil, err
		}
	}
	idx := make([]int, len(raw))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return rels[idx[a]].Version > rels[idx[b]].Version })
	sortedRaw := make([]json.RawMessage, len(raw))
	sortedRels := make([]apiclient.Release, len(raw))
	for i, j := range idx {
		sortedRaw[i], sortedRels[i] = raw[j], rels[j]
	}
	b, _ := json.Marshal(sortedRaw)
	return b, sortedRels, nil
}

// Current returns the current release, or nil when there is none.
func Current(rels []apiclient.Release) *apiclient.Release {
	for i := range rels {
		if rels[i].Current {
			return &rels[i]
		}
	}
	for i := range rels {
		if rels[i].Status == "succeeded" {
			return &rels[i]
		}
	}
	return nil
}

// CurrentVersion returns "vN" for the app's newest release, or "" if it
// cannot tell; the action line of config:set shows it.
func CurrentVersion(ctx context.Context, c *apiclient.Client, app string) string {
	_, rels, err := fetch(ctx, c, app)
	if err != nil || len(rels) == 0 {
		return ""
	}
	return fmt.Sprintf("v%d", rels[0].Version)
}

// describe adds the release phase state to a description, as heroku does.
func describe(r apiclient.Release) string {
	switch r.Status {
	case "failed":
		return r.Description + " release command failed"
	case "pending":
		return r.Description + " release command executing"
	}
	return r.Description
}

// FormatList renders `releases` (newest first).
func FormatList(app string, rels []apiclient.Release, loc *time.Location) string {
	if len(rels) == 0 {
		return "=== " + app + " Releases\n"
	}
	head := "=== " + app + " Releases"
	if cur := Current(rels); cur != nil {
		head += fmt.Sprintf(" - Current: v%d", cur.Version)
	}
	rows := make([][]string, len(rels))
	for i, r := range rels {
		rows[i] = []string{fmt.Sprintf("v%d", r.Version), describe(r), r.User.Email, r.CreatedAt.In(loc).Format(cli.TimeFormat)}
	}
	return head + "\n" + cli.FormatTable(nil, rows)
}

func list(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	var num int
	cmd := &cobra.Command{
		Use:   "releases",
		Short: "display the releases for an app",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			raw, rels, err := fetch(e.Ctxt(), c, app)
			if err != nil {
				return err
			}
			if num > 0 && len(rels) > num {
				rels = rels[:num]
				var rs []json.RawMessage
				json.Unmarshal(raw, &rs)
				raw, _ = json.Marshal(rs[:num])
			}
			if jsonOut {
				return e.JSON(json.RawMessage(raw))
			}
			e.Printf("%s", FormatList(app, rels, time.Local))
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	cmd.Flags().IntVarP(&num, "num", "n", 15, "number of releases to show")
	return cmd
}

// FormatInfo renders `releases:info`.
func FormatInfo(r apiclient.Release, vars map[string]string, shell bool, loc *time.Location) string {
	var b strings.Builder
	fmt.Fprintf(&b, "=== Release v%d\n", r.Version)
	b.WriteString(cli.FormatKeyValues([]cli.KV{
		{Key: "Add-ons", Value: strings.Join(r.AddonPlanNames, "\n")},
		{Key: "By", Value: r.User.Email},
		{Key: "Change", Value: describe(r)},
		{Key: "Status", Value: r.Status},
		{Key: "When", Value: r.CreatedAt.In(loc).Format(cli.TimeFormat)},
	}))
	fmt.Fprintf(&b, "\n=== v%d Config vars\n", r.Version)
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if shell {
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%s\n", k, vars[k])
		}
	} else {
		kvs := make([]cli.KV, len(keys))
		for i, k := range keys {
			kvs[i] = cli.KV{Key: k, Value: vars[k]}
		}
		b.WriteString(cli.FormatKeyValues(kvs))
	}
	return b.String()
}

// resolve returns the release named by arg ("" = current).
func resolve(ctx context.Context, c *apiclient.Client, app, arg string) (apiclient.Release, json.RawMessage, error) {
	var rel apiclient.Release
	if arg == "" {
		_, rels, err := fetch(ctx, c, app)
		if err != nil {
			return rel, nil, err
		}
		cur := Current(rels)
		if cur == nil {
			return rel, nil, fmt.Errorf("%s has no releases", app)
		}
		arg = strconv.Itoa(cur.Version)
	}
	v, err := ParseVersion(arg)
	if err != nil {
		return rel, nil, err
	}
	var raw json.RawMessage
	if err := c.Get(ctx, fmt.Sprintf("%s/%d", releasesPath(app), v), &raw); err != nil {
		return rel, nil, err
	}
	return rel, raw, cli.Decode(raw, &rel)
}

func info(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut, shell bool
	cmd := &cobra.Command{
		Use:   "releases:info [RELEASE]",
		Short: "view detailed information for a release",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			arg := ""
			if len(args) == 1 {
				arg = args[0]
			}
			rel, raw, err := resolve(e.Ctxt(), c, app, arg)
			if err != nil {
				return err
			}
			if jsonOut {
				return e.JSON(raw)
			}
			var vars map[string]string
			if err := c.Get(e.Ctxt(), fmt.Sprintf("%s/%d/config-vars", releasesPath(app), rel.Version), &vars); err != nil {
				return err
			}
			e.Printf("%s", FormatInfo(rel, vars, shell, time.Local))
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	cmd.Flags().BoolVarP(&shell, "shell", "s", false, "output in shell format")
	return cmd
}

func rollback(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	cmd := &cobra.Command{
		Use:     "releases:rollback [RELEASE]",
		Aliases: []string{"rollback"},
		Short:   "roll back to a previous release (default: the one before the current)",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			var target apiclient.Release
			if len(args) == 1 {
				if target, _, err = resolve(e.Ctxt(), c, app, args[0]); err != nil {
					return err
				}
			} else {
				_, rels, err := fetch(e.Ctxt(), c, app)
				if err != nil {
					return err
				}
				cur := Current(rels)
				if cur == nil {
					return fmt.Errorf("%s has no release to roll back from", app)
				}
				found := false
				for _, r := range rels {
					if r.Version < cur.Version && r.Status == "succeeded" {
						target, found = r, true
						break
					}
				}
				if !found {
					return fmt.Errorf("%s has no release before v%d to roll back to", app, cur.Version)
				}
			}
			var raw json.RawMessage
			var made apiclient.Release
			err = e.Action(fmt.Sprintf("Rolling back %s %s to v%d", cli.Hexagon, app, target.Version), func() (string, error) {
				if err := c.Do(e.Ctxt(), http.MethodPost, releasesPath(app), map[string]string{"release": target.ID}, &raw); err != nil {
					return "", err
				}
				if err := cli.Decode(raw, &made); err != nil {
					return "", err
				}
				return fmt.Sprintf("v%d", made.Version), nil
			})
			if err != nil {
				return err
			}
			if jsonOut {
				return e.JSON(raw)
			}
			cli.FormatError(e.Err, fmt.Sprintf("Rollback affects code and config vars; it doesn't add or remove addons.\nTo undo, run: paas rollback v%d", made.Version-1))
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	return cmd
}
