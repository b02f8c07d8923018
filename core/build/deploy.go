package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/api"
	"github.com/paasd/paasd/core/dynos"
	"github.com/paasd/paasd/core/store"
)

// DeployStore is the part of the platform store a deploy uses;
// store.Store implements it.
type DeployStore interface {
	GetApp(ctx context.Context, idOrName string) (core.App, error)
	CreateBuild(ctx context.Context, b core.Build) (core.Build, error)
	UpdateBuild(ctx context.Context, appID, id string, fn func(*core.Build) error) (core.Build, error)
	CreateSlug(ctx context.Context, s core.Slug) (core.Slug, error)
	CurrentRelease(ctx context.Context, appID string) (core.Release, error)
	UpdateConfig(ctx context.Context, appID string, changes map[string]*string, r core.Release) (core.Release, error)
	UpdateRelease(ctx context.Context, appID, id string, fn func(*core.Release) error) (core.Release, error)
	GetUser(ctx context.Context, idOrEmail string) (core.User, error)
}

var _ DeployStore = store.Store(nil)

// Deployer joins the pipeline to the platform: it is the api.Builder behind
// POST /apps/{app}/builds and, through [Deployer.GitDeploy], the Deploy of a
// GitServer. A deploy builds, stores the slug, appends a release with the
// current config vars, runs the release phase and, when it passes, asks the
// platform to converge on the new release.
type Deployer struct {
	// Pipeline builds; its SlugDir must be the platform's. Required.
	Pipeline *Pipeline
	// Store is the platform store. Required.
	Store DeployStore
	// EnsureFormation adds the slug's new process types to the app's
	// formation (web at 1, others at 0, as on Heroku's first deploy) once
	// its release may run; nil skips it. api.EnsureFormation is one.
	EnsureFormation func(ctx context.Context, appID string, slug core.Slug) error
	// Converge makes the platform run the app's current release
	// (platform.Platform.Converge); nil skips it.
	Converge func(ctx context.Context, appID string) error
	// Runner runs the release phase's one-off dynos (the platform's
	// dyno manager). Nil means releases with a release process type fail.
	Runner OneOffRunner
	// HTTPClient fetches source_blob URLs; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Logger logs background builds; nil means slog.Default().
	Logger *slog.Logger

	wg sync.WaitGroup
}

var _ api.Builder = (*Deployer)(nil)

// Build implements api.Builder: it fetches b.SourceURL and deploys it in
// the background, updating b in the store when done.
func (d *Deployer) Build(_ context.Context, app core.App, b core.Build) error {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		ctx := context.Background()
		var out strings.Builder
		err := d.apiBuild(ctx, app, b, &out)
		if err != nil {
			d.logger().Info("build failed", "app", app.Name, "build", b.ID, "err", err)
		}
	}()
	return nil
}

// Wait blocks until the background builds started by Build have finished.
func (d *Deployer) Wait() { d.wg.Wait() }

func (d *Deployer) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}

func (d *Deployer) apiBuild(ctx context.Context, app core.App, b core.Build, out io.Writer) error {
	body, err := d.Pipeline.FetchSource(ctx, d.HTTPClient, b.SourceURL)
	if err != nil {
		d.fail(ctx, app, b, out, err)
		return err
	}
	defer body.Close()
	_, err = d.deploy(ctx, app, b, body, "", out)
	return err
}

// GitDeploy is a GitServer's Deploy: it records a build for the push (by
// the user Authenticate returned) and deploys it while the push waits.
func (d *Deployer) GitDeploy(ctx context.Context, p Push) error {
	app, err := d.Store.GetApp(ctx, p.App)
	if err != nil {
		return fmt.Errorf("app %s: %w", p.App, err)
	}
	b, err := d.Store.CreateBuild(ctx, core.Build{AppID: app.ID, UserID: p.UserID, Status: core.BuildPending,
		Buildpacks: app.Buildpacks, SourceURL: "git:" + p.NewRev})
	if err != nil {
		return fmt.Errorf("record build: %w", err)
	}
	rel, err := d.deploy(ctx, app, b, p.Source, p.NewRev, p.Output)
	if err != nil {
		return err
	}
	fmt.Fprintf(p.Output, "-----> Launching...\n       Released v%d\n", rel.Version)
	return nil
}

// fail records a failed build.
func (d *Deployer) fail(ctx context.Context, app core.App, b core.Build, out io.Writer, cause error) {
	if _, err := d.Store.UpdateBuild(ctx, app.ID, b.ID, func(x *core.Build) error {
		x.Status = core.BuildFailed
		return nil
	}); err != nil {
		d.logger().Error("record failed build", "app", app.Name, "build", b.ID, "err", err)
	}
}

// deploy builds src and releases it. It returns the new release (status
// succeeded) or an error; a failed release phase is an error and leaves the
// release marked failed.
func (d *Deployer) deploy(ctx context.Context, app core.App, b core.Build, src io.Reader, commit string, out io.Writer) (core.Release, error) {
	cur, err := d.Store.CurrentRelease(ctx, app.ID)
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		d.fail(ctx, app, b, out, err)
		return core.Release{}, fmt.Errorf("current release: %w", err)
	}
	buildpacks := b.Buildpacks
	if len(buildpacks) == 0 {
		buildpacks = app.Buildpacks
	}
	res, err := d.Pipeline.Build(ctx, Request{App: app.Name, AppID: app.ID, Source: src, Buildpacks: buildpacks,
		Config: cur.Config, Output: out, Commit: commit})
	if err != nil {
		d.fail(ctx, app, b, out, err)
		return core.Release{}, err
	}
	res.Slug.AppID = app.ID
	if app.Stack != "" {
		res.Slug.Stack = app.Stack
	}
	slug, err := d.Store.CreateSlug(ctx, res.Slug)
	if err != nil {
		d.fail(ctx, app, b, out, err)
		return core.Release{}, fmt.Errorf("record slug: %w", err)
	}
	var email string
	if u, err := d.Store.GetUser(ctx, b.UserID); err == nil {
		email = u.Email
	}
	desc := "Deploy"
	if commit != "" {
		desc = "Deploy " + commit[:min(7, len(commit))]
	}
	status := core.ReleaseSucceeded
	if slug.ProcessTypes["release"] != "" {
		status = core.ReleasePending
	}
	rel, err := d.Store.UpdateConfig(ctx, app.ID, nil, core.Release{SlugID: slug.ID, Description: desc,
		UserID: b.UserID, UserEmail: email, Status: status})
	if err != nil {
		d.fail(ctx, app, b, out, err)
		return core.Release{}, fmt.Errorf("record release: %w", err)
	}
	if _, err := d.Store.UpdateBuild(ctx, app.ID, b.ID, func(x *core.Build) error {
		x.Status, x.SlugID, x.ReleaseID = core.BuildSucceeded, slug.ID, rel.ID
		return nil
	}); err != nil {
		return core.Release{}, fmt.Errorf("record build: %w", err)
	}
	if status == core.ReleasePending {
		dec, err := d.releasePhase(ctx, app, rel, slug, res.SlugPath, out)
		if err != nil {
			return core.Release{}, err
		}
		rel, err = d.Store.UpdateRelease(ctx, app.ID, rel.ID, func(r *core.Release) error {
			r.Status = dec.Status
			if !dec.Promote && dec.Reason != "" {
				r.Description += " (release command failed: " + dec.Reason + ")"
			}
			return nil
		})
		if err != nil {
			return core.Release{}, fmt.Errorf("record release status: %w", err)
		}
		if !dec.Promote {
			return rel, fmt.Errorf("release v%d failed: %s: %w", rel.Version, dec.Reason, core.ErrInvalid)
		}
	}
	if d.EnsureFormation != nil {
		if err := d.EnsureFormation(ctx, app.ID, slug); err != nil {
			d.logger().Error("formation after deploy", "app", app.Name, "err", err)
		}
	}
	if d.Converge != nil {
		if err := d.Converge(ctx, app.ID); err != nil {
			d.logger().Error("converge after deploy", "app", app.Name, "err", err)
		}
	}
	return rel, nil
}

func (d *Deployer) releasePhase(ctx context.Context, app core.App, rel core.Release, slug core.Slug, slugPath string, out io.Writer) (ReleaseDecision, error) {
	if d.Runner == nil {
		fmt.Fprintf(out, " !     This platform cannot run release commands\n")
		return ReleaseDecision{Ran: false, Status: core.ReleaseFailed, Reason: "no dyno manager for the release phase"}, nil
	}
	stack := slug.Stack
	return RunReleasePhase(ctx, d.Runner, ReleasePhase{
		App: app.Name, ProcessTypes: slug.ProcessTypes, Output: out,
		Release: dynos.Desired{App: app.Name, AppID: app.ID, Release: rel.Version, ReleaseID: rel.ID, Slug: slugPath,
			Stack: stack, Config: rel.Config},
	})
}
