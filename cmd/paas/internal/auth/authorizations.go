package auth

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/cli"
)

// authorization is the OAuth authorization resource (an API token).
type authorization struct {
	ID          string   `json:"id"`
	Description string   `json:"description"`
	Scope       []string `json:"scope"`
	AccessToken *struct {
		Token string `json:"token"`
	} `json:"access_token"`
}

// FormatAuthorizations renders `authorizations`.
func FormatAuthorizations(as []authorization) string {
	if len(as) == 0 {
		return "No OAuth authorizations.\n"
	}
	rows := make([][]string, len(as))
	for i, a := range as {
		desc := a.Description
		if desc == "" {
			desc = "<none>"
		}
		rows[i] = []string{desc, a.ID, strings.Join(a.Scope, ",")}
	}
	return cli.FormatTable(nil, rows)
}

func authorizationCommands(e *cli.Env) []*cobra.Command {
	var jsonList bool
	list := &cobra.Command{
		Use:   "authorizations",
		Short: "list your API tokens (OAuth authorizations)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.Client()
			if err != nil {
				return err
			}
			var raw json.RawMessage
			if err := c.List(e.Ctxt(), "/oauth/authorizations", &raw); err != nil {
				return err
			}
			if jsonList {
				return e.JSON(raw)
			}
			var as []authorization
			if err := cli.Decode(raw, &as); err != nil {
				return err
			}
			e.Printf("%s", FormatAuthorizations(as))
			return nil
		},
	}
	cli.JSONFlag(list, &jsonList)

	var desc string
	var short, jsonCreate bool
	create := &cobra.Command{
		Use:   "authorizations:create",
		Short: "create a new API token (for CI, scripts, another machine)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.Client()
			if err != nil {
				return err
			}
			var raw json.RawMessage
			var a authorization
			do := func() (string, error) {
				if err := c.Do(e.Ctxt(), http.MethodPost, "/oauth/authorizations", map[string]string{"description": desc}, &raw); err != nil {
					return "", err
				}
				return "", cli.Decode(raw, &a)
			}
			if short || jsonCreate {
				if _, err := do(); err != nil {
					return err
				}
			} else if err := e.Action("Creating OAuth Authorization", do); err != nil {
				return err
			}
			tok := ""
			if a.AccessToken != nil {
				tok = a.AccessToken.Token
			}
			switch {
			case jsonCreate:
				return e.JSON(raw)
			case short:
				e.Printf("%s\n", tok)
			default:
				d := a.Description
				if d == "" {
					d = "<none>"
				}
				e.KeyValues([]cli.KV{{Key: "ID", Value: a.ID}, {Key: "Description", Value: d},
					{Key: "Scope", Value: strings.Join(a.Scope, ",")}, {Key: "Token", Value: tok}})
			}
			return nil
		},
	}
	create.Flags().StringVarP(&desc, "description", "d", "", "set a custom authorization description")
	create.Flags().BoolVarP(&short, "short", "S", false, "only output the token")
	cli.JSONFlag(create, &jsonCreate)

	revoke := &cobra.Command{
		Use:     "authorizations:revoke ID",
		Aliases: []string{"authorizations:destroy"},
		Short:   "revoke an API token",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.Client()
			if err != nil {
				return err
			}
			return e.Action("Revoking OAuth Authorization "+args[0], func() (string, error) {
				return "", c.Do(e.Ctxt(), http.MethodDelete, "/oauth/authorizations/"+apiclient.Escape(args[0]), nil, nil)
			})
		},
	}
	return []*cobra.Command{list, create, revoke}
}
