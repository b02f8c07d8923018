// Package auth is `paas login`, `logout`, `auth:token`, `auth:whoami` and
// `authorizations` (API tokens).
// Credentials live in ~/.netrc under the API's host name, as the Heroku
// CLI keeps them (git over HTTP reads the same entry).
package auth

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
	"github.com/paasd/paasd/cmd/paas/internal/cli"
	"github.com/paasd/paasd/cmd/paas/internal/netrc"
)

// Commands returns the auth commands.
func Commands(e *cli.Env) []*cobra.Command {
	return append([]*cobra.Command{login(e), logout(e), token(e), whoami(e)}, authorizationCommands(e)...)
}

// readSecret reads a line without echo when in is a terminal.
func readSecret(in io.Reader, br *bufio.Reader) (string, error) {
	if f, ok := in.(interface{ Fd() uintptr }); ok && term.IsTerminal(int(f.Fd())) {
		b, err := term.ReadPassword(int(f.Fd()))
		return strings.TrimSpace(string(b)), err
	}
	line, err := br.ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

func login(e *cli.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "login",
		Aliases: []string{"auth:login"},
		Short:   "log in with your email and API token (stored in ~/.netrc)",
		Long:    "Prompts for your email and an API token (paasd prints the first admin's token to <data>/admin.token; paas authorizations:create makes more) and stores them in ~/.netrc for the API host, mode 0600.",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			host, err := e.APIHost()
			if err != nil {
				return err
			}
			br := bufio.NewReader(e.In)
			fmt.Fprintf(e.Err, "paas: Enter your login credentials for %s\n", e.APIURL())
			fmt.Fprint(e.Err, "Email: ")
			email, err := br.ReadString('\n')
			email = strings.TrimSpace(email)
			if email == "" {
				return fmt.Errorf("no email given: %w", err)
			}
			fmt.Fprint(e.Err, "Token: ")
			tok, err := readSecret(e.In, br)
			fmt.Fprintln(e.Err)
			if tok == "" {
				if err != nil {
					return fmt.Errorf("no token given: %w", err)
				}
				return fmt.Errorf("no token given")
			}
			c := &apiclient.Client{BaseURL: e.APIURL(), Token: tok}
			var acct apiclient.Account
			if err := c.Get(e.Ctxt(), "/account", &acct); err != nil {
				return fmt.Errorf("login failed: %w", err)
			}
			if !strings.EqualFold(acct.Email, email) {
				return fmt.Errorf("login failed: that token belongs to %s, not %s", acct.Email, email)
			}
			path, err := netrc.Path(e.Env)
			if err != nil {
				return err
			}
			f, err := netrc.Load(path)
			if err != nil {
				return err
			}
			if err := netrc.Write(path, f.Set(netrc.Machine{Name: host, Login: acct.Email, Password: tok})); err != nil {
				return err
			}
			e.Printf("Logged in as %s\n", acct.Email)
			return nil
		},
	}
	return cmd
}

func logout(e *cli.Env) *cobra.Command {
	return &cobra.Command{
		Use:     "logout",
		Aliases: []string{"auth:logout"},
		Short:   "clear local authentication credentials",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			host, err := e.APIHost()
			if err != nil {
				return err
			}
			path, err := netrc.Path(e.Env)
			if err != nil {
				return err
			}
			return e.Action("Logging out", func() (string, error) {
				f, err := netrc.Load(path)
				if err != nil {
					return "", err
				}
				if f.Machine(host) == nil {
					return "", nil
				}
				return "", netrc.Write(path, f.Remove(host))
			})
		},
	}
}

func token(e *cli.Env) *cobra.Command {
	return &cobra.Command{
		Use:   "auth:token",
		Short: "output the current API token",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := e.Token()
			if err != nil {
				return err
			}
			e.Printf("%s\n", t)
			return nil
		},
	}
}

func whoami(e *cli.Env) *cobra.Command {
	return &cobra.Command{
		Use:     "auth:whoami",
		Aliases: []string{"whoami"},
		Short:   "display the email of the logged in user",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.Client()
			if err != nil {
				return err
			}
			var acct apiclient.Account
			if err := c.Get(e.Ctxt(), "/account", &acct); err != nil {
				return err
			}
			e.Printf("%s\n", acct.Email)
			return nil
		},
	}
}
