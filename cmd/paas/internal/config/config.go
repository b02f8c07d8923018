// Package config is `paas config`, `config:get`, `config:set` and
// `config:unset`.
package config

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/cli"
	"github.com/paasd/paasd/cmd/paas/internal/releases"
)

// Commands returns the config commands.
func Commands(e *cli.Env) []*cobra.Command {
	return []*cobra.Command{show(e), get(e), set(e), unset(e)}
}

// ParseAssignments parses config:set's KEY=value arguments. The key is
// everything before the first "="; values may hold "=" and be empty. A
// key given twice keeps its last value.
func ParseAssignments(args []string) (map[string]string, []string, error) {
	vars := map[string]string{}
	var order []string
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, nil, cli.Usagef("%s is invalid. Must be in the format FOO=bar.", a)
		}
		if strings.ContainsAny(k, " \t\r\n\x00") {
			return nil, nil, cli.Usagef("%q is not a valid config var name: it contains a space or control character", k)
		}
		if _, seen := vars[k]; !seen {
			order = append(order, k)
		}
		vars[k] = v
	}
	return vars, order, nil
}

func configPath(app string) string { return "/apps/" + apiclient.Escape(app) + "/config-vars" }

// ShellQuote quotes v for a POSIX shell when it needs it, as --shell does.
func ShellQuote(v string) string {
	if v != "" && strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,:/@%+=") == "" {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// FormatVars renders vars as `heroku config` does: aligned "KEY: value"
// lines, or KEY=value lines with shell.
func FormatVars(vars map[string]string, keys []string, shell bool) string {
	if keys == nil {
		keys = sortedKeys(vars)
	}
	if shell {
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%s\n", k, ShellQuote(vars[k]))
		}
		return b.String()
	}
	kvs := make([]cli.KV, len(keys))
	for i, k := range keys {
		kvs[i] = cli.KV{Key: k, Value: vars[k]}
	}
	return cli.FormatKeyValues(kvs)
}

func show(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut, shell bool
	cmd := &cobra.Command{
		Use:     "config",
		Aliases: []string{"config:list"},
		Short:   "display the config vars for an app",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			var raw json.RawMessage
			if err := c.Get(e.Ctxt(), configPath(app), &raw); err != nil {
				return err
			}
			if jsonOut {
				return e.JSON(raw)
			}
			var vars map[string]string
			if err := cli.Decode(raw, &vars); err != nil {
				return err
			}
			if !shell {
				e.Heading(app + " Config Vars")
			}
			e.Printf("%s", FormatVars(vars, nil, shell))
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	cmd.Flags().BoolVarP(&shell, "shell", "s", false, "output config vars in shell format")
	return cmd
}

func get(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut, shell bool
	cmd := &cobra.Command{
		Use:   "config:get KEY...",
		Short: "display a single config value for an app",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			var vars map[string]string
			if err := c.Get(e.Ctxt(), configPath(app), &vars); err != nil {
				return err
			}
			if jsonOut {
				out := make([]map[string]any, len(args))
				for i, k := range args {
					v, ok := vars[k]
					out[i] = map[string]any{"key": k, "value": nil}
					if ok {
						out[i]["value"] = v
					}
				}
				return e.JSON(out)
			}
			for _, k := range args {
				if shell {
					e.Printf("%s=%s\n", k, ShellQuote(vars[k]))
				} else {
					e.Printf("%s\n", vars[k])
				}
			}
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	cmd.Flags().BoolVarP(&shell, "shell", "s", false, "output config var in shell format")
	return cmd
}

func set(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	cmd := &cobra.Command{
		Use:     "config:set KEY=VALUE...",
		Aliases: []string{"config:add"},
		Short:   "set one or more config vars",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cli.Usagef("Usage: paas config:set KEY1=VALUE1 [KEY2=VALUE2 ...]\nMust specify KEY and VALUE to set.")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			vars, order, err := ParseAssignments(args)
			if err != nil {
				return err
			}
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			var all map[string]string
			err = e.Action("Setting "+strings.Join(order, ", ")+" and restarting "+cli.Hexagon+" "+app, func() (string, error) {
				if err := c.Do(e.Ctxt(), http.MethodPatch, configPath(app), vars, &all); err != nil {
					return "", err
				}
				return releases.CurrentVersion(e.Ctxt(), c, app), nil
			})
			if err != nil {
				return err
			}
			if jsonOut {
				return e.JSON(all)
			}
			e.Printf("%s", FormatVars(vars, order, false))
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	return cmd
}

func unset(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	cmd := &cobra.Command{
		Use:     "config:unset KEY...",
		Aliases: []string{"config:remove"},
		Short:   "unset one or more config vars",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			body := map[string]*string{}
			for _, k := range args {
				if strings.Contains(k, "=") {
					return cli.Usagef("%s is not a config var name: config:unset takes names, not KEY=VALUE", k)
				}
				body[k] = nil
			}
			return e.Action("Unsetting "+strings.Join(args, ", ")+" and restarting "+cli.Hexagon+" "+app, func() (string, error) {
				if err := c.Do(e.Ctxt(), http.MethodPatch, configPath(app), body, nil); err != nil {
					return "", err
				}
				return releases.CurrentVersion(e.Ctxt(), c, app), nil
			})
		},
	}
	af.Register(e, cmd)
	return cmd
}
