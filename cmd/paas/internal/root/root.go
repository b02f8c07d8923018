// Package root is the paas CLI's entry point: [Main] builds the command
// tree from every noun package, runs it, prints errors the way the Heroku
// CLI does and returns the exit code.
package root

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/paasd/paasd/cmd/paas/internal/access"
	"github.com/paasd/paasd/cmd/paas/internal/addons"
	"github.com/paasd/paasd/cmd/paas/internal/apps"
	"github.com/paasd/paasd/cmd/paas/internal/auth"
	"github.com/paasd/paasd/cmd/paas/internal/buildpacks"
	"github.com/paasd/paasd/cmd/paas/internal/certs"
	"github.com/paasd/paasd/cmd/paas/internal/cli"
	"github.com/paasd/paasd/cmd/paas/internal/config"
	"github.com/paasd/paasd/cmd/paas/internal/domains"
	"github.com/paasd/paasd/cmd/paas/internal/drains"
	"github.com/paasd/paasd/cmd/paas/internal/features"
	"github.com/paasd/paasd/cmd/paas/internal/git"
	"github.com/paasd/paasd/cmd/paas/internal/logs"
	"github.com/paasd/paasd/cmd/paas/internal/maintenance"
	"github.com/paasd/paasd/cmd/paas/internal/ps"
	"github.com/paasd/paasd/cmd/paas/internal/releases"
	"github.com/paasd/paasd/cmd/paas/internal/run"
	conformancecli "github.com/paasd/paasd/conformance/cli"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// Version is the CLI's version string.
const Version = "0.1.0"

// group is one noun's commands under a help heading.
type group struct {
	id, title string
	cmds      func(*cli.Env) []*cobra.Command
}

// New returns the root command for e.
func New(e *cli.Env) *cobra.Command {
	rootCmd := &cobra.Command{
		Use:           "paas",
		Short:         "the paasd command line: Heroku's verbs for your own platform",
		Long:          "paas manages apps on a paasd Platform API (Heroku Platform API v3 compatible).\n\nThe API is $PAAS_API_URL (default " + cli.DefaultAPIURL + "); the API key is $PAAS_API_KEY or the API host's ~/.netrc entry (paas login).",
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	rootCmd.SetIn(e.In)
	rootCmd.SetOut(e.Out)
	rootCmd.SetErr(e.Err)
	rootCmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &cli.UsageError{Msg: err.Error() + "\nSee 'paas " + c.Name() + " --help'.", Err: err}
	})
	groups := []group{
		{"auth", "Account", auth.Commands},
		{"apps", "Apps", apps.Commands},
		{"access", "Collaborators", access.Commands},
		{"config", "Config vars", config.Commands},
		{"releases", "Releases", releases.Commands},
		{"ps", "Dynos", ps.Commands},
		{"run", "One-off dynos", run.Commands},
		{"logs", "Logs", logs.Commands},
		{"addons", "Add-ons", addons.Commands},
		{"drains", "Log drains", drains.Commands},
		{"domains", "Domains", domains.Commands},
		{"certs", "TLS certificates", certs.Commands},
		{"features", "App features", features.Commands},
		{"buildpacks", "Buildpacks", buildpacks.Commands},
		{"git", "Git", git.Commands},
		{"maintenance", "Maintenance mode", maintenance.Commands},
	}
	for _, g := range groups {
		rootCmd.AddGroup(&cobra.Group{ID: g.id, Title: g.title + ":"})
		for _, c := range g.cmds(e) {
			c.GroupID = g.id
			rootCmd.AddCommand(c)
		}
	}
	rootCmd.AddGroup(&cobra.Group{ID: "plugins", Title: "Plugins:"})
	rootCmd.AddCommand(&cobra.Command{
		Use:                "conformance CONTRACT --plugin REF [flags]",
		Short:              "run a contract's conformance suite against a plugin",
		GroupID:            "plugins",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := conformancecli.Main(e.Ctxt(), args, e.Out, e.Err); code != 0 {
				return exitCode(code)
			}
			return nil
		},
	})
	return rootCmd
}

// exitCode is an error that carries an exit code and has already been
// reported.
type exitCode int

// Error says which exit status.
func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

// ExitCoder is an error that decides paas's exit code (paas run returns
// the dyno's).
type ExitCoder interface{ ExitCode() int }

// Main runs paas with args (without the program name) and returns the exit
// code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	dir, _ := os.Getwd()
	e := &cli.Env{Ctx: ctx, In: stdin, Out: stdout, Err: stderr, Dir: dir, IsTerminal: isTerminal}
	return Run(e, args)
}

// Run runs the command line args in e.
func Run(e *cli.Env, args []string) int {
	cmd := New(e)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(e.Ctxt())
	if err == nil {
		return ExitOK
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	var ec ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	err = e.Explain(err)
	var ue *cli.UsageError
	msg := err.Error()
	if errors.As(err, &ue) || isCobraUsage(msg) {
		cli.FormatError(e.Err, msg)
		return ExitUsage
	}
	cli.FormatError(e.Err, msg)
	return ExitError
}

// isCobraUsage recognises cobra's argument errors.
func isCobraUsage(msg string) bool {
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "requires exactly", "invalid argument"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

func isTerminal(v any) bool {
	f, ok := v.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}
