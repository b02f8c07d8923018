// Package addons is `paas addons`, `addons:create`, `addons:destroy`,
// `addons:info`, `addons:attach` and `addons:detach`.
package addons

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/apps"
	"github.com/paasd/paasd/cmd/paas/internal/cli"
	"github.com/paasd/paasd/cmd/paas/internal/releases"
)

// Commands returns the addons commands.
func Commands(e *cli.Env) []*cobra.Command {
	return []*cobra.Command{list(e), create(e), destroy(e), info(e), attach(e), detach(e)}
}

func appPath(app string) string { return "/apps/" + apiclient.Escape(app) }

func price(a apiclient.Addon) string {
	if a.BilledPrice == nil || a.BilledPrice.Cents == 0 {
		return "free"
	}
	return fmt.Sprintf("$%.2f/%s", float64(a.BilledPrice.Cents)/100, a.BilledPrice.Unit)
}

// planName strips the service prefix from "service:plan".
func planName(a apiclient.Addon) string {
	_, p, ok := strings.Cut(a.Plan.Name, ":")
	if !ok {
		return a.Plan.Name
	}
	return p
}

// FormatList renders `addons`: one row per add-on, its attachments below.
func FormatList(addons []apiclient.Addon, atts []apiclient.Attachment) string {
	if len(addons) == 0 {
		return "No add-ons.\n"
	}
	sort.Slice(addons, func(i, j int) bool { return addons[i].Name < addons[j].Name })
	var rows [][]string
	for _, a := range addons {
		rows = append(rows, []string{a.AddonService.Name + " (" + a.Name + ")", planName(a), price(a), a.State})
		for _, at := range atts {
			if at.Addon.ID == a.ID {
				as := " └─ as " + at.Name
				if at.App.Name != a.App.Name {
					as += " on " + at.App.Name
				}
				rows = append(rows, []string{as})
			}
		}
	}
	return cli.FormatTable([]string{"Add-on", "Plan", "Price", "State"}, rows)
}

func list(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	cmd := &cobra.Command{
		Use:     "addons",
		Aliases: []string{"addons:list"},
		Short:   "list an app's add-ons (all of yours outside an app)",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.Client()
			if err != nil {
				return err
			}
			path, attPath := "/addons", "/addon-attachments"
			app, err := e.App(af)
			switch {
			case err == nil:
				path = appPath(app) + "/addons"
			case !errors.Is(err, cli.ErrNoApp):
				return err
			}
			var raw json.RawMessage
			if err := c.List(e.Ctxt(), path, &raw); err != nil {
				return err
			}
			if jsonOut {
				return e.JSON(raw)
			}
			var ads []apiclient.Addon
			if err := cli.Decode(raw, &ads); err != nil {
				return err
			}
			var atts []apiclient.Attachment
			if app == "" {
				if err := c.List(e.Ctxt(), attPath, &atts); err != nil {
					return err
				}
			}
			// Within an app, each add-on's attachments to every app, as
			// Heroku shows them ("as SHOP_DB on blog").
			for _, a := range ads {
				if app == "" {
					break
				}
				var more []apiclient.Attachment
				if err := c.List(e.Ctxt(), "/addons/"+apiclient.Escape(a.ID)+"/addon-attachments", &more); err != nil {
					return err
				}
				atts = append(atts, more...)
			}
			if len(ads) == 0 && app != "" {
				e.Printf("No add-ons for app %s.\n", app)
				return nil
			}
			e.Printf("%s", FormatList(ads, atts))
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	return cmd
}

func create(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var as, name string
	var jsonOut bool
	var config []string
	cmd := &cobra.Command{
		Use:     "addons:create SERVICE[:PLAN]",
		Aliases: []string{"addons:add"},
		Short:   "create a new add-on resource and attach it to the app",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			plan := args[0]
			if s, p, ok := strings.Cut(plan, ":"); ok && (s == "" || p == "") {
				return cli.Usagef("%q is not SERVICE or SERVICE:PLAN", plan)
			}
			cfg := map[string]string{}
			for _, kv := range config {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return cli.Usagef("--config %q is not KEY=VALUE", kv)
				}
				cfg[k] = v
			}
			app, err := e.App(af)
			if err != nil {
				return err
			}
			c, err := e.Client()
			if err != nil {
				return err
			}
			body := map[string]any{"plan": plan}
			if name != "" {
				body["name"] = name
			}
			if as != "" {
				body["attachment"] = map[string]string{"name": as}
			}
			if len(cfg) > 0 {
				body["config"] = cfg
			}
			var raw json.RawMessage
			var a apiclient.Addon
			err = e.Action("Creating "+plan+" on "+cli.Hexagon+" "+app, func() (string, error) {
				if err := c.Do(e.Ctxt(), http.MethodPost, appPath(app)+"/addons", body, &raw); err != nil {
					return "", err
				}
				if err := cli.Decode(raw, &a); err != nil {
					return "", err
				}
				return price(a), nil
			})
			if err != nil {
				return err
			}
			if jsonOut {
				return e.JSON(raw)
			}
			if a.ProvisionMessage != nil && *a.ProvisionMessage != "" {
				e.Printf("%s\n", *a.ProvisionMessage)
			}
			e.Printf("Created %s as %s\n", a.Name, strings.Join(a.ConfigVars, ", "))
			e.Printf("Use paas addons:info %s to view the add-on's details.\n", a.Name)
			return nil
		},
	}
	af.Register(e, cmd)
	cmd.Flags().StringVar(&as, "as", "", "name for the initial add-on attachment (the config var prefix)")
	cmd.Flags().StringVar(&name, "name", "", "name for the add-on resource")
	cmd.Flags().StringArrayVar(&config, "config", nil, "KEY=VALUE provisioning option for the broker (repeatable)")
	cli.JSONFlag(cmd, &jsonOut)
	return cmd
}

func destroy(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var confirm string
	cmd := &cobra.Command{
		Use:     "addons:destroy ADDON...",
		Aliases: []string{"addons:remove"},
		Short:   "permanently destroy add-on resources",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, err := e.App(af)
			if err != nil {
				return err
			}
			c, err := e.Client()
			if err != nil {
				return err
			}
			for _, name := range args {
				var a apiclient.Addon
				if err := c.Get(e.Ctxt(), appPath(app)+"/addons/"+apiclient.Escape(name), &a); err != nil {
					return err
				}
				if err := apps.Confirm(e, a.App.Name, confirm, "Destructive Action\nThis command will affect the app "+a.App.Name); err != nil {
					return err
				}
				err := e.Action("Destroying "+a.Name+" on "+cli.Hexagon+" "+a.App.Name, func() (string, error) {
					return "", c.Do(e.Ctxt(), http.MethodDelete, appPath(a.App.Name)+"/addons/"+apiclient.Escape(a.ID), nil, nil)
				})
				if err != nil {
					return err
				}
			}
			return nil
		},
	}
	af.Register(e, cmd)
	cmd.Flags().StringVarP(&confirm, "confirm", "c", "", "the app's name, to skip the confirmation prompt")
	return cmd
}

// FormatInfo renders addons:info.
func FormatInfo(a apiclient.Addon, atts []apiclient.Attachment, loc *time.Location) string {
	var names []string
	for _, at := range atts {
		names = append(names, at.App.Name+"::"+at.Name)
	}
	sort.Strings(names)
	return "=== " + a.Name + "\n" + cli.FormatKeyValues([]cli.KV{
		{Key: "Attachments", Value: strings.Join(names, "\n")},
		{Key: "Installed at", Value: a.CreatedAt.In(loc).Format(cli.TimeFormat)},
		{Key: "Owning app", Value: a.App.Name},
		{Key: "Plan", Value: a.Plan.Name},
		{Key: "Price", Value: price(a)},
		{Key: "State", Value: a.State},
	})
}

func info(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "addons:info ADDON",
		Short: "show detailed add-on resource and attachment information",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.Client()
			if err != nil {
				return err
			}
			path := "/addons/" + apiclient.Escape(args[0])
			app, err := e.App(af)
			switch {
			case err == nil:
				path = appPath(app) + "/addons/" + apiclient.Escape(args[0])
			case !errors.Is(err, cli.ErrNoApp):
				return err
			}
			var raw json.RawMessage
			if err := c.Get(e.Ctxt(), path, &raw); err != nil {
				return err
			}
			if jsonOut {
				return e.JSON(raw)
			}
			var a apiclient.Addon
			if err := cli.Decode(raw, &a); err != nil {
				return err
			}
			var atts []apiclient.Attachment
			if err := c.List(e.Ctxt(), "/addons/"+apiclient.Escape(a.ID)+"/addon-attachments", &atts); err != nil {
				return err
			}
			e.Printf("%s", FormatInfo(a, atts, time.Local))
			return nil
		},
	}
	af.Register(e, cmd)
	cli.JSONFlag(cmd, &jsonOut)
	return cmd
}

func attach(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	var as string
	cmd := &cobra.Command{
		Use:   "addons:attach ADDON",
		Short: "attach an existing add-on resource to an app, with credentials of its own",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			var a apiclient.Addon
			if err := c.Get(e.Ctxt(), "/addons/"+apiclient.Escape(args[0]), &a); err != nil {
				return err
			}
			body := map[string]any{"addon": map[string]string{"name": a.Name}, "app": map[string]string{"name": app}}
			if as != "" {
				body["name"] = as
			}
			msg := "Attaching " + a.Name
			if as != "" {
				msg += " as " + as
			}
			var at apiclient.Attachment
			if err := e.Action(msg+" to "+cli.Hexagon+" "+app, func() (string, error) {
				return "", c.Do(e.Ctxt(), http.MethodPost, "/addon-attachments", body, &at)
			}); err != nil {
				return err
			}
			return e.Action("Setting "+at.Name+" config vars and restarting "+cli.Hexagon+" "+app, func() (string, error) {
				return releases.CurrentVersion(e.Ctxt(), c, app), nil
			})
		},
	}
	af.Register(e, cmd)
	cmd.Flags().StringVar(&as, "as", "", "name for the add-on attachment (the config var prefix)")
	return cmd
}

func detach(e *cli.Env) *cobra.Command {
	var af cli.AppFlags
	cmd := &cobra.Command{
		Use:   "addons:detach ATTACHMENT",
		Short: "detach an add-on resource from an app, revoking the attachment's credentials",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, c, err := e.AppClient(af)
			if err != nil {
				return err
			}
			var at apiclient.Attachment
			if err := c.Get(e.Ctxt(), appPath(app)+"/addon-attachments/"+apiclient.Escape(args[0]), &at); err != nil {
				return err
			}
			if err := e.Action("Detaching "+at.Name+" to "+at.Addon.Name+" from "+cli.Hexagon+" "+app, func() (string, error) {
				return "", c.Do(e.Ctxt(), http.MethodDelete, "/addon-attachments/"+apiclient.Escape(at.ID), nil, nil)
			}); err != nil {
				return err
			}
			return e.Action("Unsetting "+at.Name+" config vars and restarting "+cli.Hexagon+" "+app, func() (string, error) {
				return releases.CurrentVersion(e.Ctxt(), c, app), nil
			})
		},
	}
	af.Register(e, cmd)
	return cmd
}
