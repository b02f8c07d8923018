package cli

import (
	"encoding/json"
	"fmt"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
)

// Decode unmarshals an API answer kept raw for --json into v.
func Decode(raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("the API's answer is not the expected JSON: %w", err)
	}
	return nil
}

// UsageError is a command used wrongly (bad arguments); Main exits 2.
type UsageError struct {
	Msg string
	// Err is the underlying error, if any.
	Err error
}

// Unwrap returns the underlying error.
func (e *UsageError) Unwrap() error { return e.Err }

// Error returns the message.
func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError.
func Usagef(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }

// ExitError makes paas exit with Code without printing anything (paas run
// returns the dyno's exit code).
type ExitError struct{ Code int }

// Error says which exit status.
func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// ExitCode implements root.ExitCoder.
func (e *ExitError) ExitCode() int { return e.Code }

// Failure is an error whose message is shown to the user as written, in
// Heroku's words (capitalized sentences, several lines).
type Failure struct{ Msg string }

// Error returns the message.
func (e *Failure) Error() string { return e.Msg }

// Failf returns a *Failure.
func Failf(format string, args ...any) error { return &Failure{Msg: fmt.Sprintf(format, args...)} }

// ListItems GETs the list at path, following Range pagination. With jsonOut
// it prints the raw JSON and reports done; otherwise it decodes the items.
// Commands return err when done or err is set.
func ListItems[T any](e *Env, c *apiclient.Client, path string, jsonOut bool) (items []T, done bool, err error) {
	var raw json.RawMessage
	if err := c.List(e.Ctxt(), path, &raw); err != nil {
		return nil, false, err
	}
	if jsonOut {
		return nil, true, e.JSON(raw)
	}
	if err := Decode(raw, &items); err != nil {
		return nil, false, err
	}
	return items, false, nil
}
