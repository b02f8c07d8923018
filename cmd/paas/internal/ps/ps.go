// Package ps is `paas ps`, `ps:scale`, `ps:restart`, `ps:stop` and
// `ps:type`.
package ps

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/cli"
)

// Commands returns the ps commands.
func Commands(e *cli.Env) []*cobra.Command {
	return []*cobra.Command{list(e), scale(e), restart(e), stop(e), typ(e)}
}

func appPath(app string) string { return "/apps/" + apiclient.Escape(app) }

// FormatDynos renders `ps`: dynos grouped by process type and command,
// one-off dynos ("run") last.
func FormatDynos(app string, dynos []apiclient.Dyno, now time.Time, loc *time.Location) string {
	if len(dynos) == 0 {
		return "No dynos on " + cli.Hexagon + " " + app + "\n"
	}
	type key struct{ typ, size, cmd string }
	groups := map[key][]apiclient.Dyno{}
	var oneoff []apiclient.Dyno
	for _, d := range dynos {
		if d.Type == "run" {
			oneoff = append(oneoff, d)
			continue
		}
		k := key{d.Type, d.Size, d.Command}
		groups[k] = append(groups[k], d)
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].typ != keys[j].typ {
			return keys[i].typ < keys[j].typ
		}
		return keys[i].cmd < keys[j].cmd
	})
	byName := func(ds []apiclient.Dyno) {
		sort.Slice(ds, func(i, j int) bool { return dynoLess(ds[i].Name, ds[j].Name) })
	}
	when := func(d apiclient.Dyno) string {
		t := d.UpdatedAt
		if t.IsZero() {
			t = d.CreatedAt
		}
		return fmt.Sprintf("%s %s (~ %s ago)", d.State, t.In(loc).Format(cli.TimeFormat), cli.Ago(now.Sub(t)))
	}
	var b strings.Builder
	sections := 0
	if len(oneoff) > 0 {
		byName(oneoff)
		fmt.Fprintf(&b, "=== run: one-off processes (%d)\n", len(oneoff))
		for _, d := range oneoff {
			fmt.Fprintf(&b, "%s (%s): %s: %s\n", d.Name, SizeName(d.Size), when(d), d.Command)
		}
		sections++
	}
	for _, k := range keys {
		ds := groups[k]
		byName(ds)
		if sections > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "=== %s (%s): %s (%d)\n", k.typ, SizeName(k.size), k.cmd, len(ds))
		for _, d := range ds {
			fmt.Fprintf(&b, "%s: %s\n", d.Name, when(d))
		}
		sections++
	}
	return b.String()
}

// dynoLess orders web.2 before web.10.
func dynoLess(a, b string) bool {
	ta, na, _ := strings.Cut(a, ".")
	tb, nb, _ := strings.Cut(b, ".")
	if ta != tb {
		return ta < tb
	}
	if len(na) != len(nb) {
		return len(na) < len(nb)
	}
	return na < nb
}

func list(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	cmd := &cobra.Command{
		Use:     "ps [TYPE...]",
		Aliases: []string{"ps:list", "dynos"},
		Short:   "list dynos for an app",
		RunE: func(cmd *cobra.Command, args []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			var raw []json.RawMessage
			if err := c.List(e.Ctxt(), appPath(app)+"/dynos", &raw); err != nil {
				return err
			}
			var dynos []apiclient.Dyno
			var keep []json.RawMessage
			for _, r := range raw {
				var d apiclient.Dyno
				if err := cli.Decode(r, &d); err != nil {
					return err
				}
				if len(args) > 0 && !contains(args, d.Type) {
					continue
				}
				dynos = append(dynos, d)
				keep = append(keep, r)
			}
			if jsonOut {
				if keep == nil {
					keep = []json.RawMessage{}
				}
				return e.JSON(keep)
			}
			e.Printf("%s", FormatDynos(app, dynos, time.Now(), time.Local))
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	return cmd
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// FormatFormation renders the formation as ps:scale without arguments
// does: "web=1:Standard-1X worker=0:Basic".
func FormatFormation(form []apiclient.Formation) string {
	sort.Slice(form, func(i, j int) bool { return form[i].Type < form[j].Type })
	parts := make([]string, len(form))
	for i, f := range form {
		parts[i] = fmt.Sprintf("%s=%d:%s", f.Type, f.Quantity, SizeName(f.Size))
	}
	return strings.Join(parts, " ")
}

func scale(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	cmd := &cobra.Command{
		Use:     "ps:scale [TYPE=QUANTITY[:SIZE]...]",
		Aliases: []string{"scale", "dynos:scale"},
		Short:   "scale dyno quantity up or down",
		Long:    "Scale process types: web=2, worker+1, web=2:standard-2x, web=standard-2x.\nWithout arguments, show the current formation.",
		RunE: func(cmd *cobra.Command, args []string) error {
			changes, err := ParseScale(args)
			if err != nil {
				return err
			}
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			var form []apiclient.Formation
			if err := c.List(e.Ctxt(), appPath(app)+"/formation", &form); err != nil {
				return err
			}
			if len(changes) == 0 {
				if jsonOut {
					var raw json.RawMessage
					c.List(e.Ctxt(), appPath(app)+"/formation", &raw)
					return e.JSON(raw)
				}
				if len(form) == 0 {
					return cli.Failf("No process types on %s %s.\nUpload a Procfile to add process types.", cli.Hexagon, app)
				}
				e.Printf("%s\n", FormatFormation(form))
				return nil
			}
			current := map[string]apiclient.Formation{}
			for _, f := range form {
				current[f.Type] = f
			}
			type update struct {
				Type     string `json:"type"`
				Quantity *int   `json:"quantity,omitempty"`
				Size     string `json:"size,omitempty"`
			}
			var updates []update
			for _, ch := range changes {
				u := update{Type: ch.Type, Size: ch.Size}
				if ch.Op != 0 {
					q := ch.Quantity
					switch ch.Op {
					case '+':
						q = current[ch.Type].Quantity + ch.Quantity
					case '-':
						q = max(0, current[ch.Type].Quantity-ch.Quantity)
					}
					u.Quantity = &q
				}
				updates = append(updates, u)
			}
			var raw json.RawMessage
			var result []apiclient.Formation
			err = e.Action("Scaling dynos", func() (string, error) {
				if err := c.Do(e.Ctxt(), http.MethodPatch, appPath(app)+"/formation", map[string]any{"updates": updates}, &raw); err != nil {
					return "", err
				}
				if err := cli.Decode(raw, &result); err != nil {
					return "", err
				}
				var now []string
				for _, ch := range changes {
					for _, f := range result {
						if f.Type == ch.Type {
							now = append(now, fmt.Sprintf("%s at %d:%s", f.Type, f.Quantity, SizeName(f.Size)))
						}
					}
				}
				return "now running " + strings.Join(now, ", "), nil
			})
			if err != nil {
				return err
			}
			if jsonOut {
				return e.JSON(raw)
			}
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	return cmd
}

// target reads a dyno-or-type argument and the -p/-d flags.
func target(args []string, typ, name string) (string, error) {
	n := 0
	t := ""
	for _, v := range []string{typ, name} {
		if v != "" {
			n++
			t = v
		}
	}
	if len(args) == 1 {
		n++
		t = args[0]
	}
	if n > 1 {
		return "", cli.Usagef("give one dyno or process type")
	}
	return t, nil
}

func describeTarget(t string) string {
	switch {
	case t == "":
		return "dynos"
	case strings.Contains(t, "."):
		return t + " dyno"
	default:
		return t + " dynos"
	}
}

func restart(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var typ, name string
	cmd := &cobra.Command{
		Use:     "ps:restart [DYNO|TYPE]",
		Aliases: []string{"restart", "dyno:restart"},
		Short:   "restart an app's dynos (all, one process type, or one dyno)",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := target(args, typ, name)
			if err != nil {
				return err
			}
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			path := appPath(app) + "/dynos"
			if t != "" {
				path += "/" + apiclient.Escape(t)
			}
			return e.Action("Restarting "+describeTarget(t)+" on "+cli.Hexagon+" "+app, func() (string, error) {
				return "", c.Do(e.Ctxt(), http.MethodDelete, path, nil, nil)
			})
		},
	}
	af.Register(e, cmd)
	cmd.Flags().StringVarP(&typ, "process-type", "p", "", "name of the process type to restart")
	cmd.Flags().StringVarP(&name, "dyno-name", "d", "", "name of the dyno to restart")
	return cmd
}

func stop(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var typ, name string
	cmd := &cobra.Command{
		Use:     "ps:stop DYNO|TYPE",
		Aliases: []string{"stop", "ps:kill", "kill", "dyno:stop"},
		Short:   "stop an app's dyno or process type",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := target(args, typ, name)
			if err != nil {
				return err
			}
			if t == "" {
				return cli.Usagef("Usage: paas ps:stop DYNO|TYPE\nMust specify a dyno (web.1) or a process type (web) to stop.")
			}
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			return e.Action("Stopping "+describeTarget(t)+" on "+cli.Hexagon+" "+app, func() (string, error) {
				return "", c.Do(e.Ctxt(), http.MethodPost, appPath(app)+"/dynos/"+apiclient.Escape(t)+"/actions/stop", nil, nil)
			})
		},
	}
	af.Register(e, cmd)
	cmd.Flags().StringVarP(&typ, "process-type", "p", "", "name of the process type to stop")
	cmd.Flags().StringVarP(&name, "dyno-name", "d", "", "name of the dyno to stop")
	return cmd
}

// FormatTypes renders ps:type's table.
func FormatTypes(form []apiclient.Formation) string {
	sort.Slice(form, func(i, j int) bool { return form[i].Type < form[j].Type })
	rows := make([][]string, len(form))
	for i, f := range form {
		rows[i] = []string{f.Type, SizeName(f.Size), fmt.Sprint(f.Quantity)}
	}
	return "=== Process Types\n" + cli.FormatTable([]string{"Type", "Size", "Qty"}, rows)
}

func typ(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	cmd := &cobra.Command{
		Use:     "ps:type [TYPE=SIZE...|SIZE]",
		Aliases: []string{"ps:resize", "resize", "dyno:type", "dyno:resize"},
		Short:   "manage dyno sizes",
		Long:    "Without arguments, show each process type's size. With SIZE, resize every process type; with TYPE=SIZE, the named ones.",
		RunE: func(cmd *cobra.Command, args []string) error {
			all, per, err := ParseType(args)
			if err != nil {
				return err
			}
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			var form []apiclient.Formation
			if err := c.List(e.Ctxt(), appPath(app)+"/formation", &form); err != nil {
				return err
			}
			if len(args) > 0 {
				var updates []map[string]string
				for _, f := range form {
					if all != "" {
						updates = append(updates, map[string]string{"type": f.Type, "size": all})
					}
				}
				for t, s := range per {
					updates = append(updates, map[string]string{"type": t, "size": s})
				}
				if len(updates) == 0 {
					return cli.Failf("No process types on %s %s to resize.", cli.Hexagon, app)
				}
				err = e.Action("Scaling dynos on "+cli.Hexagon+" "+app, func() (string, error) {
					return "", c.Do(e.Ctxt(), http.MethodPatch, appPath(app)+"/formation", map[string]any{"updates": updates}, nil)
				})
				if err != nil {
					return err
				}
				form = nil
				if err := c.List(e.Ctxt(), appPath(app)+"/formation", &form); err != nil {
					return err
				}
			}
			if jsonOut {
				return e.JSON(form)
			}
			e.Printf("%s", FormatTypes(form))
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	return cmd
}
