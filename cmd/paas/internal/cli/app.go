package cli

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"path"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
)

// DefaultRemotes are the git remotes searched for the app, in order.
var DefaultRemotes = []string{"paas", "heroku"}

// AppFlags are -a/--app and -r/--remote.
type AppFlags struct {
	App    string
	Remote string
}

// Register adds -a/--app and -r/--remote to cmd, with completion of app
// names from the API.
func (f *AppFlags) Register(e *Env, cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.App, "app", "a", "", "app to run command against")
	cmd.Flags().StringVarP(&f.Remote, "remote", "r", "", "git remote of app to use")
	cmd.RegisterFlagCompletionFunc("app", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return e.AppNames(), cobra.ShellCompDirectiveNoFileComp
	})
}

// AppNames lists the user's app names, for completion and suggestions; it
// returns nil on any error.
func (e *Env) AppNames() []string {
	c, err := e.Client()
	if err != nil {
		return nil
	}
	var apps []apiclient.App
	if err := c.List(e.Ctxt(), "/apps", &apps); err != nil {
		return nil
	}
	names := make([]string, len(apps))
	for i, a := range apps {
		names[i] = a.Name
	}
	sort.Strings(names)
	return names
}

// ErrNoApp is returned when no app is given and none can be inferred.
var ErrNoApp error = &Failure{Msg: "No app specified.\nUSAGE: paas COMMAND --app APP\nor run the command inside a git repository with a paas remote (paas git:remote -a APP)"}

// App returns the app the command acts on: --app, else $PAAS_APP, else the
// app of the git remote given by --remote, else of the "paas" or "heroku"
// remote of the working directory's repository. The name is remembered for
// "did you mean" suggestions.
func (e *Env) App(f AppFlags) (string, error) {
	name, err := e.resolveApp(f)
	if err == nil {
		e.app = name
	}
	return name, err
}

// AppClient resolves the app like App and returns it with an API client:
// the first two steps of every command that acts on one app.
func (e *Env) AppClient(f AppFlags) (string, *apiclient.Client, error) {
	app, err := e.App(f)
	if err != nil {
		return "", nil, err
	}
	c, err := e.Client()
	if err != nil {
		return "", nil, err
	}
	return app, c, nil
}

func (e *Env) resolveApp(f AppFlags) (string, error) {
	if f.App != "" {
		return f.App, nil
	}
	if a := e.Env("PAAS_APP"); a != "" && f.Remote == "" {
		return a, nil
	}
	remotes, err := e.GitRemotes()
	if err != nil {
		if f.Remote != "" {
			return "", fmt.Errorf("--remote %s: %w", f.Remote, err)
		}
		return "", ErrNoApp
	}
	if f.Remote != "" {
		u, ok := remotes[f.Remote]
		if !ok {
			return "", fmt.Errorf("there is no git remote named %q in this repository", f.Remote)
		}
		app := AppFromGitURL(u)
		if app == "" {
			return "", fmt.Errorf("git remote %s (%s) is not an app's git URL (http://HOST/APP.git)", f.Remote, u)
		}
		return app, nil
	}
	for _, r := range DefaultRemotes {
		if app := AppFromGitURL(remotes[r]); app != "" {
			return app, nil
		}
	}
	return "", ErrNoApp
}

// AppFromGitURL returns APP from http(s)://HOST/APP.git (or
// ssh://…/APP.git, git@HOST:APP.git), or "" when u is not such a URL.
func AppFromGitURL(u string) string {
	u = strings.TrimSpace(u)
	if u == "" || !strings.HasSuffix(u, ".git") {
		return ""
	}
	var p string
	if pu, err := url.Parse(u); err == nil && pu.Scheme != "" && pu.Host != "" {
		p = pu.Path
	} else if _, after, ok := strings.Cut(u, ":"); ok && !strings.Contains(u, "://") {
		p = after
	} else {
		return ""
	}
	app := strings.TrimSuffix(path.Base(p), ".git")
	if app == "" || app == "." || app == "/" {
		return ""
	}
	return app
}

// GitRemotes returns the remotes of the repository in e.Dir, by name.
func (e *Env) GitRemotes() (map[string]string, error) {
	out, err := e.Git("config", "--get-regexp", `^remote\..*\.url$`)
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 1 {
			// In a repository, with no remotes.
			return map[string]string{}, nil
		}
		return nil, err
	}
	remotes := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(k, "remote."), ".url")
		remotes[name] = v
	}
	return remotes, nil
}

// InGitRepo reports whether e.Dir is inside a git work tree.
func (e *Env) InGitRepo() bool {
	out, err := e.Git("rev-parse", "--is-inside-work-tree")
	return err == nil && strings.TrimSpace(out) == "true"
}

// Git runs git in e.Dir and returns its stdout.
func (e *Env) Git(args ...string) (string, error) {
	cmd := exec.CommandContext(e.Ctxt(), "git", args...)
	cmd.Dir = e.Dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 128 {
			return "", fmt.Errorf("not a git repository (git %s: %s): %w", args[0], strings.TrimSpace(errb.String()), err)
		}
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return out.String(), nil
}

// SetGitRemote points remote name at gitURL in e.Dir's repository, adding
// or updating it.
func (e *Env) SetGitRemote(name, gitURL string) error {
	remotes, err := e.GitRemotes()
	if err != nil {
		return err
	}
	if _, ok := remotes[name]; ok {
		_, err = e.Git("remote", "set-url", name, gitURL)
	} else {
		_, err = e.Git("remote", "add", name, gitURL)
	}
	return err
}

// Suggest returns the name closest to name by edit distance, if it is close
// enough to be a likely typo, else "".
func Suggest(name string, names []string) string {
	best, bestD := "", -1
	for _, n := range names {
		d := Levenshtein(name, n)
		if bestD < 0 || d < bestD {
			best, bestD = n, d
		}
	}
	limit := max(2, len(name)/3)
	if bestD < 0 || bestD > limit || best == name {
		return ""
	}
	return best
}

// Levenshtein is the edit distance between a and b (insertions, deletions,
// substitutions of bytes).
func Levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Explain adds what the user can do to an error: for an unknown app, the
// closest app name the user has.
func (e *Env) Explain(err error) error {
	var ae *apiclient.Error
	if e.app == "" || !errors.As(err, &ae) || ae.Status != 404 || !strings.Contains(strings.ToLower(ae.Message), "app") {
		return err
	}
	if s := Suggest(e.app, e.AppNames()); s != "" {
		return &apiclient.Error{Status: ae.Status, ID: ae.ID, Message: ae.Message + "\ndid you mean '" + s + "'?"}
	}
	return err
}
