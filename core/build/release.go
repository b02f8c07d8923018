package build

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/dynos"
)

// OneOffRunner runs one-off dynos; *dynos.Manager implements it.
type OneOffRunner interface {
	Run(ctx context.Context, app string, o dynos.RunOptions) (dynos.Info, error)
	Wait(ctx context.Context, app, id string) (int, error)
	Stop(ctx context.Context, app, target string) error
}

var _ OneOffRunner = (*dynos.Manager)(nil)

// DefaultReleaseTimeout is Heroku's release phase limit (1 hour).
const DefaultReleaseTimeout = time.Hour

// ReleasePhase is what the release phase needs to know about a new release.
type ReleasePhase struct {
	// App is the app's name.
	App string
	// Release is the new release's desired state (version, slug, config);
	// the release command runs on it, not on the current release.
	Release dynos.Desired
	// ProcessTypes are the slug's process types; the release phase runs
	// only when they hold a "release" type.
	ProcessTypes map[string]string
	// Size is the one-off dyno's size; empty means "standard-1x".
	Size string
	// Timeout bounds the release command; 0 means 1 hour.
	Timeout time.Duration
	// Output, when set, receives progress lines ("Running release
	// command…"), e.g. the git push output.
	Output io.Writer
}

// ReleaseDecision is the outcome of a release phase.
type ReleaseDecision struct {
	// Ran is true when the slug had a release process type.
	Ran bool
	// ExitCode is the release command's exit code (when Ran).
	ExitCode int
	// Status is core.ReleaseSucceeded or core.ReleaseFailed: the status to
	// record on the release.
	Status string
	// Promote is true when the release must become current and the
	// formation restart on it; false means keep the old release running.
	Promote bool
	// Reason explains a failed release, for the release's description
	// and the user.
	Reason string
}

// RunReleasePhase runs the release's `release` process (if its Procfile
// has one) in a one-off dyno of type "release" on the new release, and
// waits for it: exit 0 means the release becomes current (Promote), any
// other exit, a timeout or a dyno that could not start mean the release is
// marked failed and the current release keeps running. Without a release
// type it promotes at once. It returns an error only when the caller
// should not record a decision (ctx ended); every release phase failure is
// a decision.
func RunReleasePhase(ctx context.Context, runner OneOffRunner, rp ReleasePhase) (ReleaseDecision, error) {
	out := rp.Output
	if out == nil {
		out = io.Discard
	}
	cmd := strings.TrimSpace(rp.ProcessTypes["release"])
	if cmd == "" {
		return ReleaseDecision{Status: core.ReleaseSucceeded, Promote: true}, nil
	}
	timeout := rp.Timeout
	if timeout == 0 {
		timeout = DefaultReleaseTimeout
	}
	fmt.Fprintf(out, "-----> Running release command...\n")
	rel := rp.Release
	// The dyno manager files dynos under the app's id (Desired.AppID),
	// so the release phase's output lands in the app's log.
	key := rel.AppID
	if key == "" {
		key = rp.App
	}
	info, err := runner.Run(ctx, key, dynos.RunOptions{Command: cmd, Type: "release", Size: rp.Size, On: &rel})
	if err != nil {
		if ctx.Err() != nil {
			return ReleaseDecision{}, fmt.Errorf("release phase of %s v%d: %w", rp.App, rp.Release.Release, ctx.Err())
		}
		reason := fmt.Sprintf("release command could not start: %v", err)
		fmt.Fprintf(out, " !     Release command failed: %s\n", reason)
		return ReleaseDecision{Ran: true, ExitCode: -1, Status: core.ReleaseFailed, Reason: reason}, nil
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	code, err := runner.Wait(wctx, key, info.ID)
	if err != nil {
		if ctx.Err() != nil {
			return ReleaseDecision{}, fmt.Errorf("release phase of %s v%d: %w", rp.App, rp.Release.Release, ctx.Err())
		}
		_ = runner.Stop(context.Background(), key, info.Name)
		reason := fmt.Sprintf("release command did not finish within %s", timeout)
		fmt.Fprintf(out, " !     %s\n", reason)
		return ReleaseDecision{Ran: true, ExitCode: -1, Status: core.ReleaseFailed, Reason: reason}, nil
	}
	if code != 0 {
		reason := fmt.Sprintf("release command exited with status %d", code)
		fmt.Fprintf(out, " !     Release command failed (exit status %d); v%d is not deployed\n", code, rp.Release.Release)
		return ReleaseDecision{Ran: true, ExitCode: code, Status: core.ReleaseFailed, Reason: reason}, nil
	}
	fmt.Fprintf(out, "       Release command succeeded\n")
	return ReleaseDecision{Ran: true, Status: core.ReleaseSucceeded, Promote: true}, nil
}
